"""Shared pieces of the fuzz tests (``tests/test_fuzz_*.py``): the settings profile, input
strategies, the nasty-file corpus, and the one assertion they all make.

Budget: every fuzz module together stays under ~60 s on a 2-core CI runner. The profile
runs a fixed number of examples per test (``derandomize=True``: the same examples on every
run, so a CI failure reproduces locally) with no example database and a generous deadline
(the machine is shared; a slow example is not a bug, a hang is, and the bomb/huge-file
tests time themselves explicitly).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from eks_gpu.errors import EksGpuError

settings.register_profile(
    "fuzz",
    max_examples=60,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FUZZ = settings.get_profile("fuzz")
"""``@FUZZ`` on a ``@given`` test: the fuzz profile (not loaded globally, so the property
tests of other modules keep their own settings)."""
FUZZ_CHEAP = settings(FUZZ, max_examples=200)
"""For pure parsers that take microseconds per example."""
FUZZ_CLI = settings(FUZZ, max_examples=12, deadline=None)
"""For whole CLI runs (validate compiles CEL rules, simulate solves): few, but real."""

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "1e999", "-1", "NaN", "100m", "1Gi", "nvidia.com/gpu", "{", "[]"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=24,
)
"""Any JSON-shaped value, including ones the API server would never send."""

KINDS = st.sampled_from(
    [
        "Pod",
        "Node",
        "NodePool",
        "NodeClaim",
        "EC2NodeClass",
        "DaemonSet",
        "Deployment",
        "Job",
        "CronJob",
        "StatefulSet",
        "List",
        "PodList",
        "ClusterDump",
        "PodLog",
        "NodeMetrics",
        "NodeOverlay",
        "Event",
        "ConfigMap",
        "Secret",
        "",
    ]
)
API_VERSIONS = st.sampled_from(
    ["v1", "apps/v1", "batch/v1", "karpenter.sh/v1", "karpenter.k8s.aws/v1", "eks-gpu.io/v1", ""]
)
SPEC_KEYS = st.sampled_from(
    [
        "containers",
        "initContainers",
        "nodeName",
        "nodeSelector",
        "tolerations",
        "affinity",
        "template",
        "replicas",
        "parallelism",
        "taints",
        "nodeClassRef",
        "requirements",
        "limits",
        "disruption",
        "resources",
        "overhead",
        "providerID",
        "jobTemplate",
        "selector",
    ]
)
STATUS_KEYS = st.sampled_from(
    [
        "phase",
        "conditions",
        "capacity",
        "allocatable",
        "containerStatuses",
        "reason",
        "startTime",
        "nodeName",
        "numberReady",
        "desiredNumberScheduled",
    ]
)
METADATA = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=8) | JSON_VALUES,
        "namespace": st.text(max_size=8) | JSON_VALUES,
        "labels": st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=3) | JSON_VALUES,
        "annotations": JSON_VALUES,
        "creationTimestamp": st.sampled_from(["2026-01-01T00:00:00Z", "yesterday"]) | JSON_VALUES,
        "ownerReferences": JSON_VALUES,
    },
)
OBJECTS = st.fixed_dictionaries(
    {"kind": KINDS},
    optional={
        "apiVersion": API_VERSIONS,
        "metadata": METADATA,
        "spec": st.dictionaries(SPEC_KEYS, JSON_VALUES, max_size=4),
        "status": st.dictionaries(STATUS_KEYS, JSON_VALUES, max_size=3),
        "items": st.lists(JSON_VALUES, max_size=3) | JSON_VALUES,
        "tail": JSON_VALUES,
        "container": JSON_VALUES,
    },
)
"""Kubernetes-ish objects: the right top-level keys with anything under them."""


def _pod(kind: str, spec_junk: dict, metadata_junk: dict) -> dict:
    pod_spec = {
        "containers": [{"name": "c", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}}],
        **spec_junk,
    }
    spec = pod_spec if kind == "Pod" else {"template": {"spec": pod_spec}, "replicas": 2}
    api = "v1" if kind == "Pod" else "apps/v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "p", **metadata_junk},
            "spec": spec, "status": {"phase": "Pending"}}  # fmt: skip


WORKLOADS = st.builds(
    _pod,
    st.sampled_from(["Pod", "Deployment", "StatefulSet", "DaemonSet"]),
    st.dictionaries(SPEC_KEYS, JSON_VALUES, max_size=2),
    st.dictionaries(
        st.sampled_from(["namespace", "labels", "ownerReferences"]), JSON_VALUES, max_size=1
    ),
)
"""A GPU pod or workload that is right except for one or two fields."""
NODES = st.builds(
    lambda labels, status: {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n", "labels": labels},
        "status": status,
    },
    st.dictionaries(
        st.sampled_from(
            [
                "karpenter.sh/nodepool",
                "node.kubernetes.io/instance-type",
                "karpenter.sh/capacity-type",
                "topology.kubernetes.io/zone",
            ]
        ),
        st.sampled_from(["gpu", "g5.xlarge", "spot", "us-east-1a"]) | st.text(max_size=5),
        max_size=4,
    ),
    st.dictionaries(
        st.sampled_from(["capacity", "allocatable", "conditions", "nodeInfo"]),
        JSON_VALUES | st.just({"nvidia.com/gpu": "1", "cpu": "4", "memory": "16Gi"}),
        max_size=3,
    ),
)
"""A node with real labels and anything in its status."""
NODEPOOLS = st.builds(
    lambda spec, extra: {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "gpu"},
        "spec": {"template": {"spec": spec}, **extra},
    },
    st.dictionaries(
        st.sampled_from(["requirements", "taints", "nodeClassRef", "startupTaints"]),
        JSON_VALUES,
        max_size=2,
    ),
    st.dictionaries(st.sampled_from(["limits", "disruption", "weight"]), JSON_VALUES, max_size=2),
)
"""A NodePool with anything in its template and limits."""
CLUSTER_OBJECTS = WORKLOADS | NODES | NODEPOOLS | OBJECTS


def billion_laughs(levels: int = 9, width: int = 9, key: str = "spec") -> str:
    """The classic YAML bomb: ``width ** levels`` strings from a few hundred bytes.

    The last anchor is ``key``, so the bomb sits where a consumer will walk it."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        name = key if level == levels - 1 else f"a{level}"
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"{name}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def nested_json(depth: int) -> str:
    """An object nested ``depth`` levels deep, inside a Pod's spec."""
    return '{"kind": "Pod", "spec": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


NASTY_FILES: dict[str, bytes] = {
    "empty.yaml": b"",
    "blank-docs.yaml": b"---\n---\n\n",
    "binary.yaml": bytes(range(256)) * 4,
    "nul.yaml": b"kind: Pod\x00\n",
    "latin1.yaml": "kind: Pod\nmetadata: {name: caf\u00e9}\n".encode("latin-1"),
    "utf16.yaml": "kind: Pod\n".encode("utf-16"),
    "scalar.yaml": b"42\n",
    "sequence.yaml": b"- kind: Pod\n- 5\n",
    "list-items-scalar.yaml": b"kind: List\nitems: 5\n",
    "list-of-junk.yaml": b"apiVersion: v1\nkind: List\nitems: [1, [2], {kind: Pod, spec: 3}]\n",
    "no-kind.yaml": b"metadata: {name: x}\n",
    "wrong-kind.yaml": b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==}\n",
    "unsafe-tag.yaml": b"kind: !!python/object/apply:os.system [echo]\n",
    "binary-tag.yaml": b"apiVersion: v1\nkind: Pod\nmetadata: {name: !!binary AAAA}\n",
    "set-tag.yaml": b"!!set {a, b}\n",
    "unhashable-key.yaml": b"? [a, b]\n: 1\nkind: Pod\n",
    "bad-merge.yaml": b"kind: Pod\n<<: 5\n",
    "undefined-alias.yaml": b"kind: Pod\nspec: *nowhere\n",
    "tabs.yaml": b"kind: Pod\n\tspec: {}\n",
    "unterminated.yaml": b'kind: "Pod\n',
    "bomb.yaml": ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" + billion_laughs()).encode(),
    "deep.yaml": b"kind: Pod\nspec: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "deep.json": nested_json(50_000).encode(),
    "deep-array.json": b"[" * 50_000 + b"]" * 50_000,
    "json-junk.json": b'{"kind": "Pod", "spec": [1, 2], "metadata": "x"}',
    "json-nan.json": b'{"kind": "Node", "metadata": {"name": "n"}, "status": '
    b'{"capacity": {"nvidia.com/gpu": NaN}, "allocatable": {"cpu": Infinity}}}',
    "json-list-scalars.json": b"[1, 2, 3]",
    "huge-quantity.yaml": b"apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus:\n"
    b"  capacity: {nvidia.com/gpu: 1e99999999999, cpu: '" + b"9" * 5000 + b"'}\n"
    b"  allocatable: {memory: 1e-999999999Ki}\n",
    "bad-pod.yaml": b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: [1], labels: 5}\n"
    b"spec: {containers: 5, nodeSelector: [], tolerations: {}, affinity: x}\n"
    b"status: {phase: 5, conditions: x, startTime: [1]}\n",
}
"""Files no parser should crash on (name -> bytes): empty, binary, wrong encodings, wrong
kinds and shapes, unsafe tags, YAML bombs, nesting past every stack."""


def assert_typed_error(call: Callable[[], Any]) -> Any:
    """``call()``'s result, or the typed error it raised; any other exception fails the test.

    A typed error must say what and where: a message that is not empty.
    """
    try:
        return call()
    except EksGpuError as error:
        assert error.message.strip(), f"{type(error).__name__} without a message"
        return error


def dumps(value: Any) -> str:
    """JSON text of a generated value (NaN and Infinity included, as Python writes them)."""
    return json.dumps(value)


def test_bomb_expands_past_a_billion() -> None:
    """The bomb the fuzz tests use is a real one: 9 levels of 9 make 9**9 strings."""
    import yaml

    from eks_gpu.manifests.document import expanded_size

    node = yaml.compose(billion_laughs())
    assert node is not None
    distinct, expanded = expanded_size(node)
    assert distinct < 100 and expanded > 9**9
