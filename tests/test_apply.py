"""``apply``: dependency order, preflight decisions, outcome classification, CLI flags.

The live behaviour (PATCHes, 403 part-way, conflicts, dry runs) is tested against the real
API server in tests/controlplane/test_apply.py; here the pure decisions and the flags.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CliResult
from eks_gpu.commands.apply import ApplyResult, _action
from eks_gpu.commands.preflight import (
    Check,
    Preflight,
    check_dry_run,
    cluster_name_check,
    crd_check,
    deployment_cluster_names,
    image_tag,
    karpenter_version,
    kubeconfig_cluster_names,
    skipped_name_check,
    validation_check,
)
from eks_gpu.commands.result import Outcome
from eks_gpu.config.parse import config_from_data
from eks_gpu.config.profiles import profile_config
from eks_gpu.errors import EXIT_CLUSTER, EXIT_FINDINGS, EXIT_OK, UsageError
from eks_gpu.render.apply_order import (
    UnlabelledObjectError,
    apply_objects,
    check_managed,
    delete_order,
    describe,
)
from eks_gpu.render.bundle import render_all
from eks_gpu.validate.findings import Finding
from environment import empty_workdir

RunCli = Callable[..., CliResult]
Obj = dict[str, Any]
ARN = "arn:aws:eks:us-west-2:123456789012:cluster/prod-gpu"


def time_slicing_objects() -> list[Obj]:
    config = config_from_data({"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 4}}}})
    return apply_objects(render_all(config, "demo"))


# --- order ------------------------------------------------------------------------------------


def test_apply_order_is_dependency_order_without_test_pods() -> None:
    kinds = [o["kind"] for o in time_slicing_objects()]
    assert kinds[:4] == ["EC2NodeClass", "NodePool", "ConfigMap", "DaemonSet"]
    assert kinds[4:] and set(kinds[4:]) == {"NodeOverlay"}
    guide = apply_objects(render_all(profile_config("guide"), "demo"))
    assert "Pod" not in {o["kind"] for o in guide} and "Namespace" not in {o["kind"] for o in guide}


def test_several_pools_keep_classes_before_pools() -> None:
    config = config_from_data({"nodePools": [{"name": "a"}, {"name": "b"}]})
    kinds = [o["kind"] for o in apply_objects(render_all(config, "demo"))]
    assert kinds.index("NodePool") > kinds.index("EC2NodeClass")
    assert kinds.count("NodePool") == 2


def test_delete_order_is_the_reverse() -> None:
    objs = time_slicing_objects()
    assert [describe(o) for o in delete_order(objs)] == [describe(o) for o in reversed(objs)]


def test_every_applied_object_carries_our_label() -> None:
    for obj in time_slicing_objects():
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "eks-gpu"


def test_an_unlabelled_object_is_refused() -> None:
    obj = {"kind": "NodePool", "metadata": {"name": "gpu", "labels": {"a": "b"}}}
    with pytest.raises(UnlabelledObjectError, match="NodePool/gpu"):
        check_managed([obj])


# --- preflight decisions -----------------------------------------------------------------------


def crd(group: str, *served: str) -> Obj:
    versions = [{"name": v, "served": True, "storage": i == 0} for i, v in enumerate(served)]
    return {"spec": {"group": group, "versions": versions}}


KARPENTER_CRDS = [crd("karpenter.sh", "v1"), crd("karpenter.k8s.aws", "v1")]


def test_crd_check_passes_when_every_rendered_version_is_served() -> None:
    guide = apply_objects(render_all(profile_config("guide"), "demo"))
    check = crd_check(KARPENTER_CRDS, guide)
    assert check.status == "pass" and "karpenter.sh/v1" in check.detail


def test_crd_check_needs_v1alpha1_for_node_overlays() -> None:
    check = crd_check(KARPENTER_CRDS, time_slicing_objects())
    assert check.status == "fail" and "karpenter.sh/v1alpha1" in check.detail
    with_overlays = [*KARPENTER_CRDS, crd("karpenter.sh", "v1alpha1")]
    assert crd_check(with_overlays, time_slicing_objects()).status == "pass"


def test_crd_check_fails_without_karpenter_or_on_beta_only() -> None:
    guide = apply_objects(render_all(profile_config("guide"), "demo"))
    assert crd_check([], guide).status == "fail"
    beta = [crd("karpenter.sh", "v1beta1"), crd("karpenter.k8s.aws", "v1beta1")]
    check = crd_check(beta, guide)
    assert check.status == "fail" and "karpenter.sh/v1beta1" in check.detail


def deployment(image: str, cluster: str | None) -> Obj:
    env = [{"name": "CLUSTER_NAME", "value": cluster}] if cluster else []
    containers = [{"name": "controller", "image": image, "env": env}]
    return {
        "metadata": {"name": "karpenter", "namespace": "kube-system"},
        "spec": {"template": {"spec": {"containers": containers}}},
    }


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("public.ecr.aws/karpenter/controller:1.14.1@sha256:abc", "1.14.1"),
        ("localhost:5000/karpenter/controller:v1.2.0", "v1.2.0"),
        ("localhost:5000/karpenter/controller", None),
        ("controller@sha256:abc", None),
    ],
)
def test_image_tag(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


def test_karpenter_version_prefers_the_controller_container() -> None:
    dep = deployment("public.ecr.aws/karpenter/controller:1.14.1", "prod")
    dep["spec"]["template"]["spec"]["containers"].insert(0, {"name": "proxy", "image": "p:9"})
    assert karpenter_version([dep]) == "1.14.1"
    assert karpenter_version([]) is None


def test_cluster_names_from_the_deployment_and_the_kubeconfig() -> None:
    dep = deployment("k:1", "prod-gpu")
    assert deployment_cluster_names([dep]) == [
        ("Deployment kube-system/karpenter env CLUSTER_NAME", "prod-gpu")
    ]
    assert deployment_cluster_names([deployment("k:1", None)]) == []
    assert [n for _, n in kubeconfig_cluster_names(ARN, "x", [])] == ["prod-gpu"]
    assert [n for _, n in kubeconfig_cluster_names("ctx", ARN, [])] == ["prod-gpu"]
    args = ["--region", "us-west-2", "eks", "get-token", "--cluster-name", "prod-gpu"]
    assert kubeconfig_cluster_names("ctx", "local", args) == [
        ("kubeconfig exec plugin args", "prod-gpu")
    ]
    assert [n for _, n in kubeconfig_cluster_names("c", "c", ["--cluster-name=x1"])] == ["x1"]
    assert [n for _, n in kubeconfig_cluster_names("c", "c", ["token", "-i", "x2"])] == ["x2"]
    assert kubeconfig_cluster_names("kind-dev", "kind-dev", ["get-token"]) == []


def test_cluster_name_check_decisions() -> None:
    from_deployment = [("Deployment kube-system/karpenter env CLUSTER_NAME", "prod")]
    from_kubeconfig = [("kubeconfig context " + ARN, "prod-gpu")]
    assert cluster_name_check("prod", from_deployment, []).status == "pass"
    wrong = cluster_name_check("staging", from_deployment, [])
    assert (
        wrong.status == "fail"
        and "'prod'" in wrong.detail
        and "--cluster-name prod" in wrong.detail
    )
    # The deployment is what Karpenter uses: it wins over the kubeconfig.
    assert cluster_name_check("prod", from_deployment, from_kubeconfig).status == "pass"
    assert cluster_name_check("prod-gpu", [], from_kubeconfig).status == "pass"
    unknown = cluster_name_check("prod", [], [])
    assert unknown.status == "not-run" and "--skip-cluster-name-check" in unknown.detail
    assert skipped_name_check().status == "skipped"


def test_preflight_ok_only_when_every_check_passed_or_was_skipped() -> None:
    passed = Check("a", "pass", "")
    assert Preflight((passed, Check("b", "skipped", "")), None).ok
    assert not Preflight((passed, Check("b", "not-run", "")), None).ok
    assert not Preflight((passed, Check("b", "fail", "")), None).ok


def test_validation_check() -> None:
    error = Finding("core-schema", "error", "NodePool/gpu", ".spec", "bad", None)
    warning = Finding("lint", "warning", "NodePool/gpu", ".spec", "meh", None)
    failed = validation_check([error, warning])
    assert failed.status == "fail" and "NodePool/gpu .spec: bad" in failed.detail
    passed = validation_check([warning], ["transition rules: no live object"])
    assert passed.status == "pass" and "1 warnings" in passed.detail


# --- outcomes ----------------------------------------------------------------------------------


def meta(rv: str) -> Obj:
    return {"metadata": {"resourceVersion": rv, "managedFields": [{"manager": "eks-gpu",
            "time": rv}]}, "spec": {"a": 1}}  # fmt: skip


def test_action_from_resource_versions() -> None:
    assert _action(None, meta("2"), "none") == "created"
    assert _action(meta("1"), meta("1"), "none") == "unchanged"
    changed = meta("2")
    changed["spec"]["a"] = 2
    assert _action(meta("1"), changed, "none") == "configured"


def test_a_status_write_in_between_is_not_a_change() -> None:
    live, answer = meta("1"), meta("2")
    answer["status"] = {"numberReady": 1}
    answer["metadata"]["managedFields"].append({"manager": "kcm", "subresource": "status"})
    assert _action(live, answer, "none") == "unchanged"
    answer["metadata"]["labels"] = {"new": "label"}
    assert _action(live, answer, "none") == "configured"


def test_dry_run_server_compares_content_not_resource_version() -> None:
    live = meta("1")
    same = meta("1")
    same["metadata"]["managedFields"][0]["time"] = "later"
    assert _action(live, same, "server") == "unchanged"
    changed = meta("1")
    changed["spec"]["a"] = 2
    assert _action(live, changed, "server") == "configured"


def result(*actions: str, checks: tuple[Check, ...] = (Check("a", "pass", ""),)) -> ApplyResult:
    outcomes = tuple(Outcome(f"NodePool/p{i}", a) for i, a in enumerate(actions))  # type: ignore[arg-type]
    return ApplyResult("ctx", "demo", "none", Preflight(checks, "1.14.1"), outcomes)


def test_summary_and_exit_codes() -> None:
    assert result("unchanged", "unchanged").summary == "no changes"
    assert result("unchanged", "unchanged").exit_code == EXIT_OK
    assert result("created", "unchanged").summary == "1 created, 1 unchanged"
    failed = result("created", "failed", "not-applied")
    assert failed.exit_code == EXIT_CLUSTER
    assert failed.summary == "1 created, 1 failed, 1 not-applied"
    refused = result("not-applied", checks=(Check("cluster-name", "fail", "wrong"),))
    assert refused.exit_code == EXIT_FINDINGS
    assert refused.summary == "preflight failed: nothing applied"
    assert refused.to_json()["preflight"] == [
        {"name": "cluster-name", "status": "fail", "detail": "wrong"}
    ]


def test_dry_run_values() -> None:
    assert check_dry_run("server") == "server"
    with pytest.raises(UsageError, match="--dry-run=all"):
        check_dry_run("all")


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return empty_workdir(tmp_path, monkeypatch)


def nowhere(tmp_path: Path) -> str:
    """A kubeconfig whose server refuses connections."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_the_commands_are_listed(run_cli: RunCli) -> None:
    out = run_cli("--help").out
    assert all(f"  {name} " in out for name in ("apply", "diff", "delete"))


def test_apply_without_yes_off_a_terminal_fails_before_reading(
    run_cli: RunCli, workdir: Path
) -> None:
    result = run_cli("apply", "--cluster-name", "demo", "--kubeconfig", "/nonexistent")
    assert result.code == 2
    assert "stdin is not a terminal" in result.err and "pass --yes" in result.err


def test_apply_needs_a_real_cluster_name(run_cli: RunCli, workdir: Path) -> None:
    result = run_cli("apply", "--yes", "--kubeconfig", "/nonexistent")
    assert result.code == 2 and "no cluster name" in result.err


def test_apply_rejects_a_bad_dry_run(run_cli: RunCli, workdir: Path) -> None:
    result = run_cli("apply", "--dry-run=all", "--cluster-name", "demo")
    assert result.code == 2 and "--dry-run" in result.err


def test_apply_config_and_profile_conflict(run_cli: RunCli, workdir: Path) -> None:
    (workdir / "c.yaml").write_text("clusterName: demo\n")
    result = run_cli("apply", "--yes", "-c", "c.yaml", "--profile", "dev")
    assert result.code == 2 and "cannot be used together" in result.err


def test_apply_diff_delete_on_an_unreachable_cluster_exit_3(
    run_cli: RunCli, workdir: Path, tmp_path: Path
) -> None:
    kubeconfig = nowhere(tmp_path)
    for argv in (
        ("apply", "--yes"),
        ("apply", "--dry-run=client"),
        ("diff",),
        ("delete", "--yes"),
    ):
        result = run_cli(*argv, "--cluster-name", "demo", "--kubeconfig", kubeconfig)
        assert result.code == 3, (argv, result.err)
        assert "error: cannot reach https://127.0.0.1:9" in result.err
        assert "Traceback" not in result.err


def test_table_shows_checks_outcomes_errors_and_summary() -> None:
    from eks_gpu.cli.apply_cmd import table

    outcomes = (
        Outcome("NodePool/gpu", "created"),
        Outcome("DaemonSet/kube-system/plugin", "failed", "forbidden: no\nhint: ask"),
        Outcome("NodeOverlay/gpu-1", "not-applied"),
    )
    checks = (Check("cluster-name", "pass", "demo (kubeconfig context)"),)
    text = table(ApplyResult("ctx", "demo", "none", Preflight(checks, None), outcomes))
    assert "cluster-name  PASS    demo (kubeconfig context)" in text
    assert "DaemonSet/kube-system/plugin  failed" in text
    assert "\nDaemonSet/kube-system/plugin: forbidden: no\nhint: ask\n" in text
    assert text.endswith("\n1 created, 1 failed, 1 not-applied\n")
