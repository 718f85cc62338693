"""Rendered NodePools and EC2NodeClasses pass the upstream v1.14.1 CRD structural schemas.

The oracle is Karpenter's own CRD files (``<reference>/karpenter``), converted by
:mod:`crd_schema`; CEL rules (``x-kubernetes-validations``) are out of scope here. The
negative cases prove the converted schema really rejects what the API server would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from crd_schema import CRD_FILES, convert, load_crd_schema, schema_errors, validator_for
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.parse import config_from_data
from eks_gpu.config.profiles import PROFILES, profile_config
from eks_gpu.render.bundle import render_all

CLUSTER = "demo"
KARPENTER_KINDS = {"NodePool", "EC2NodeClass"}

EXTRA_CONFIGS: dict[str, dict[str, Any]] = {
    "shared-node-class": {
        "nodePools": [
            {"name": "gpu-spot", "capacityTypes": ["spot"]},
            {"name": "gpu-on-demand", "capacityTypes": ["on-demand"], "weight": 10},
        ],
    },
    "ami-name-pattern": {
        "nodeClasses": [
            {
                "ami": {"name": "amazon-eks-node-al2023-x86_64-nvidia-*", "owner": "amazon"},
                "instanceProfile": "X",
            }
        ],
    },
    "pool-extras": {
        "nodePools": [
            {
                "requirements": [
                    {
                        "key": "topology.kubernetes.io/zone",
                        "operator": "NotIn",
                        "values": ["us-east-1e"],
                    },
                    {
                        "key": "karpenter.k8s.aws/instance-gpu-count",
                        "operator": "Gt",
                        "values": ["0"],
                    },
                    {
                        "key": "karpenter.k8s.aws/instance-generation",
                        "operator": "Exists",
                    },
                    {
                        "key": "karpenter.k8s.aws/instance-size",
                        "operator": "In",
                        "values": ["xlarge", "2xlarge", "4xlarge"],
                        "minValues": 2,
                    },
                ],
                "weight": 50,
                "expireAfter": "720h",
                "terminationGracePeriod": "24h",
                "disruption": {
                    "consolidationPolicy": "WhenEmptyOrUnderutilized",
                    "consolidateAfter": "Never",
                    "budgets": [
                        {"nodes": "10%"},
                        {
                            "nodes": "0",
                            "reasons": ["Underutilized", "Drifted"],
                            "schedule": "0 9 * * mon-fri",
                            "duration": "8h",
                        },
                    ],
                },
                "startupTaints": [
                    {"key": "example.com/agent-not-ready", "effect": "NoExecute"},
                ],
            }
        ],
    },
    "node-class-extras": {
        "nodeClasses": [
            {
                "kubelet": {
                    "maxPods": 58,
                    "kubeReserved": {"cpu": "100m"},
                    "imageGCHighThresholdPercent": 85,
                    "imageGCLowThresholdPercent": 80,
                },
                "tags": {"team": "ml", "cost-center": "1234"},
                "rootVolume": {
                    "volumeSize": "200Gi",
                    "iops": 6000,
                    "throughput": 500,
                    "kmsKeyID": "arn:aws:kms:us-east-1:111122223333:key/abcd-1234",
                },
            }
        ],
    },
}


def _configs() -> dict[str, GpuConfig]:
    configs = {f"profile-{name}": profile_config(name) for name in PROFILES}
    configs.update({name: config_from_data(data, name) for name, data in EXTRA_CONFIGS.items()})
    return configs


CONFIGS = _configs()


def _karpenter_objects() -> list[Any]:
    """One pytest param per rendered NodePool/EC2NodeClass, id'd config/kind/name."""
    return [
        pytest.param(item.obj, id=f"{config}/{item.obj['kind']}/{item.obj['metadata']['name']}")
        for config, gpu_config in CONFIGS.items()
        for item in render_all(gpu_config, CLUSTER)
        if item.obj["kind"] in KARPENTER_KINDS
    ]


@pytest.mark.parametrize("obj", _karpenter_objects())
def test_rendered_objects_pass_the_crd_schema(obj: dict[str, Any], reference: Path) -> None:
    assert schema_errors(obj, reference) == []


def test_every_config_renders_both_kinds() -> None:
    for name, config in CONFIGS.items():
        kinds = {item.obj["kind"] for item in render_all(config, CLUSTER)}
        assert kinds >= KARPENTER_KINDS, name


def test_shared_node_class_is_rendered_once() -> None:
    items = render_all(CONFIGS["shared-node-class"], CLUSTER)
    assert [i.obj["kind"] for i in items].count("EC2NodeClass") == 1
    assert [i.obj["kind"] for i in items].count("NodePool") == 2


# --- the converted schema is not vacuous ---------------------------------------------------


def _guide_object(kind: str) -> dict[str, Any]:
    items = render_all(profile_config("guide"), CLUSTER)
    return copy.deepcopy(next(i.obj for i in items if i.obj["kind"] == kind))


def _pool_spec(pool: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = pool["spec"]["template"]["spec"]
    return spec


def _root_ebs(node_class: dict[str, Any]) -> dict[str, Any]:
    ebs: dict[str, Any] = node_class["spec"]["blockDeviceMappings"][0]["ebs"]
    return ebs


Breakage = Callable[[dict[str, Any]], None]
BROKEN: list[tuple[str, str, Breakage, str]] = [
    (
        "NodePool",
        "spec.disruption.consolidationPolicy",
        lambda o: o["spec"]["disruption"].update(consolidationPolicy="Sometimes"),
        "is not one of",
    ),
    (
        "NodePool",
        "spec.template.spec.requirements[0].operator",
        lambda o: _pool_spec(o)["requirements"][0].update(operator="Like"),
        "is not one of",
    ),
    (
        "NodePool",
        "spec.template.spec",
        lambda o: _pool_spec(o).update(foo="bar"),
        "'foo' was unexpected",
    ),
    (
        "NodePool",
        "spec.template.spec",
        lambda o: _pool_spec(o).pop("nodeClassRef"),
        "'nodeClassRef' is a required property",
    ),
    (
        "NodePool",
        "spec.template.spec.taints[0].effect",
        lambda o: _pool_spec(o)["taints"][0].update(effect="NoWay"),
        "is not one of",
    ),
    (
        "NodePool",
        "spec.limits.cpu",
        lambda o: o["spec"]["limits"].update(cpu="lots"),
        "does not match",
    ),
    (
        "NodePool",
        "spec.limits.cpu",
        lambda o: o["spec"]["limits"].update(cpu=True),
        "is not of type",
    ),
    (
        "NodePool",
        "spec.disruption.consolidateAfter",
        lambda o: o["spec"]["disruption"].update(consolidateAfter="30 seconds"),
        "does not match",
    ),
    (
        "NodePool",
        "spec.template.spec.requirements[0]",
        lambda o: _pool_spec(o)["requirements"][0].update(minValues=0),
        "less than the minimum",
    ),
    (
        "EC2NodeClass",
        "spec.metadataOptions.httpPutResponseHopLimit",
        lambda o: o["spec"]["metadataOptions"].update(httpPutResponseHopLimit=0),
        "less than the minimum",
    ),
    (
        "EC2NodeClass",
        "spec.blockDeviceMappings[0].ebs.volumeSize",
        lambda o: _root_ebs(o).update(volumeSize="10GB"),
        "does not match",
    ),
    (
        "EC2NodeClass",
        "spec.blockDeviceMappings[0].ebs.volumeType",
        lambda o: _root_ebs(o).update(volumeType="gp9"),
        "is not one of",
    ),
    (
        "EC2NodeClass",
        "spec.blockDeviceMappings[0].ebs",
        lambda o: _root_ebs(o).update(kmsKeyId="typo-of-kmsKeyID"),
        "'kmsKeyId' was unexpected",
    ),
    (
        "EC2NodeClass",
        "spec.instanceStorePolicy",
        lambda o: o["spec"].update(instanceStorePolicy="RAID5"),
        "is not one of",
    ),
    (
        "EC2NodeClass",
        "<root>",
        lambda o: o.update(status2={}),
        "'status2' was unexpected",
    ),
]


@pytest.mark.parametrize(
    ("kind", "where", "breakage", "message"),
    BROKEN,
    ids=[f"{kind}:{where}:{message}" for kind, where, _, message in BROKEN],
)
def test_broken_objects_are_rejected(
    kind: str, where: str, breakage: Breakage, message: str, reference: Path
) -> None:
    obj = _guide_object(kind)
    assert schema_errors(obj, reference) == []  # the unbroken object is valid
    breakage(obj)
    errors = schema_errors(obj, reference)
    assert errors, f"{kind} with a broken {where} passed the schema"
    assert any(e.startswith(f"{where}") and message in e for e in errors), errors


# --- the converter itself ------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_every_crd_loads(kind: str, reference: Path) -> None:
    """NodeClaim included: its schema converts, and a minimal NodeClaim passes."""
    validator = validator_for(kind, reference)
    assert validator.schema["properties"]["spec"]["type"] == "object"


def test_nodeclaim_minimal_object(reference: Path) -> None:
    claim = {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodeClaim",
        "metadata": {"name": "gpu-abc12"},
        "spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "x"},
            "requirements": [
                {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xl"]}
            ],
            "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": 1}},
        },
    }
    assert schema_errors(claim, reference) == []
    claim["spec"]["resources"]["requests"]["cpu"] = 1.5
    assert schema_errors(claim, reference)


def test_schema_is_cached(reference: Path) -> None:
    path = reference / "karpenter" / CRD_FILES["NodePool"]
    assert load_crd_schema(path) is load_crd_schema(path)
    assert validator_for("NodePool", reference) is validator_for("NodePool", reference)


def test_converter_keywords() -> None:
    schema = convert(
        {
            "type": "object",
            "properties": {
                "open": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"a": {"type": "string"}},
                },
                "port": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                },
                "maybe": {"type": "string", "nullable": True, "enum": ["x"]},
                "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                "set": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-list-type": "set",
                },
            },
        }
    )
    validator = Draft202012Validator(schema)
    good = {"open": {"a": "1", "b": 2}, "port": 80, "maybe": None, "ratio": 0.5, "set": ["a"]}
    assert list(validator.iter_errors(good)) == []
    assert validator.is_valid({"port": "http"})
    for bad in ({"x": 1}, {"port": 1.5}, {"maybe": "y"}, {"ratio": 0}, {"set": ["a", "a"]}):
        assert not validator.is_valid(bad), bad
    with pytest.raises(ValueError, match="unsupported schema keyword"):
        convert({"type": "string", "x-new-keyword": True})
