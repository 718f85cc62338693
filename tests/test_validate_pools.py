"""What a NodePool can launch, as the validate rules see it (``validate.rules.pools``).

The cases that pinned ``instance_types_allowed`` of the second label matcher (``labels.py``,
now retired), asked of the one model: ``Pool`` is built on ``scheduling.pools.pool_spec``,
whose types are ``instance_model.admitted_types`` over Karpenter v1.14's list.
"""

from __future__ import annotations

from typing import Any

from builders import expr, make_nodepool
from eks_gpu.catalog.families import gpu_families
from eks_gpu.config.defaults import GUIDE_FAMILIES
from eks_gpu.config.profiles import profile_config
from eks_gpu.render.bundle import render_all
from eks_gpu.validate.rules.pools import Pool, pool_of

FAMILY = "karpenter.k8s.aws/instance-family"
GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"
GPU_MAKER = "karpenter.k8s.aws/instance-gpu-manufacturer"


def pool(requirements: list[dict[str, Any]], labels: dict[str, str] | None = None) -> Pool:
    built = pool_of(make_nodepool("pool", requirements=requirements, labels=labels))
    assert built is not None
    return built


def _guide_pool() -> Pool:
    [item] = render_all(profile_config("guide"), "demo", only=["nodepool"])
    built = pool_of(item.obj)
    assert built is not None
    return built


def test_the_guide_pool_launches_only_nvidia_gpu_types_of_its_families_p3_derived() -> None:
    guide = _guide_pool()
    names = [t.name for t in guide.types]
    assert names == sorted(names)
    assert {"g4dn.xlarge", "g5.xlarge", "p4d.24xlarge"} <= set(names)
    for instance_type in guide.types:
        labels = instance_type.spec.labels
        assert labels[FAMILY] in GUIDE_FAMILIES
        assert labels[GPU_MAKER] == "nvidia"
        assert int(instance_type.spec.resources.get("nvidia.com/gpu", "0")) > 0
        assert gpu_families()[labels[FAMILY]].is_nvidia
    assert "p3" in GUIDE_FAMILIES
    # Karpenter v1.14's list lacks p3; the model derives it (issue 10 finding 7)
    assert {"p3.2xlarge", "p3.8xlarge", "p3.16xlarge"} <= set(names)
    assert len(guide.gpu_types) == len(guide.types) and guide.feeds_nvidia_pods


def test_a_pool_of_p3_alone_launches_the_derived_p3_types() -> None:
    p3 = pool([expr(FAMILY, "In", "p3")])
    assert [t.name for t in p3.types] == ["p3.16xlarge", "p3.2xlarge", "p3.8xlarge"]
    assert p3.can_launch_gpus and all(t.spec.derived for t in p3.types)
    assert [t.name for t in pool([expr(FAMILY, "In", "p3dn")]).types] == ["p3dn.24xlarge"]


def test_template_labels_constrain_only_keys_instance_types_define() -> None:
    by_label = pool([], {FAMILY: "g5", "node-type": "gpu"})
    assert by_label.types and {t.spec.labels[FAMILY] for t in by_label.types} == {"g5"}
    unconstrained = pool([], {"node-type": "gpu"})
    assert len(unconstrained.types) > 1000
    offering_only = pool(
        [expr("karpenter.sh/capacity-type", "In", "spot"), expr("team", "In", "ml")]
    )
    assert len(offering_only.types) == len(unconstrained.types)


def test_a_gpu_count_requirement_excludes_every_cpu_type() -> None:
    gpus = pool([expr(GPU_COUNT, "Gt", "0")]).types
    assert gpus and all(GPU_COUNT in t.spec.labels for t in gpus)
    assert not any(t.name.startswith("m5.") for t in gpus)
    cpu_only = pool([expr(GPU_COUNT, "DoesNotExist")]).types
    assert cpu_only and all(GPU_COUNT not in t.spec.labels for t in cpu_only)


def test_requirements_on_deprecated_keys_constrain_instance_types() -> None:
    arm = pool([expr(FAMILY, "In", "g5", "g5g"), expr("beta.kubernetes.io/arch", "In", "arm64")])
    assert arm.types and {t.spec.labels[FAMILY] for t in arm.types} == {"g5g"}


def test_integers_are_read_as_karpenter_reads_them() -> None:
    """Go's strconv.Atoi: a sign and leading zeros are fine (the retired matcher said no)."""
    padded = pool([expr(GPU_COUNT, "Gt", "+07")]).types
    assert padded and all(int(t.spec.labels[GPU_COUNT]) > 7 for t in padded)


def test_an_unreadable_pool_is_skipped() -> None:
    """The CRD schema and CEL checks report these; the lint rules do not guess."""
    bad_bound = make_nodepool(requirements=[expr(GPU_COUNT, "Gt", "many")])
    bad_taint = make_nodepool(taints=["nvidia.com/gpu"])  # type: ignore[list-item]
    assert pool_of(bad_bound) is None and pool_of(bad_taint) is None
