"""Live against rendered: only our fields compared, server additions dropped, a unified diff."""

from __future__ import annotations

import copy
from typing import Any

from eks_gpu.config.profiles import profile_config
from eks_gpu.manifests.live_diff import diff_object, owned_fields, prune, strip_server_fields
from eks_gpu.render.apply_order import apply_objects
from eks_gpu.render.bundle import render_all

Obj = dict[str, Any]


def rendered() -> list[Obj]:
    return apply_objects(render_all(profile_config("guide"), "demo"))


def as_served(obj: Obj) -> Obj:
    """``obj`` with what an API server adds: metadata, status, annotations, defaults."""
    live = copy.deepcopy(obj)
    meta = live["metadata"]
    meta.update(
        uid="1234",
        resourceVersion="42",
        generation=3,
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[{"manager": "eks-gpu", "operation": "Apply", "fieldsV1": {}}],
    )
    meta.setdefault("annotations", {})["deprecated.daemonset.template.generation"] = "1"
    meta["labels"]["added-by-someone"] = "x"
    live["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    if obj["kind"] == "DaemonSet":
        spec = live["spec"]
        spec["revisionHistoryLimit"] = 10
        pod = spec["template"]["spec"]
        pod["dnsPolicy"] = "ClusterFirst"
        for container in pod["containers"]:
            container["terminationMessagePath"] = "/dev/termination-log"
        pod["containers"].insert(0, {"name": "injected-sidecar", "image": "mesh"})
    return live


def test_server_additions_are_no_difference() -> None:
    objs = rendered()
    assert {o["kind"] for o in objs} >= {"EC2NodeClass", "NodePool", "DaemonSet"}
    for obj in objs:
        result = diff_object("x", as_served(obj), obj)
        assert (result.state, result.text) == ("same", ""), result.text


def test_a_changed_field_is_a_unified_diff() -> None:
    pool = next(o for o in rendered() if o["kind"] == "NodePool")
    live = as_served(pool)
    live["spec"]["disruption"]["consolidateAfter"] = "5m"
    result = diff_object("NodePool/nodepool-gpu", live, pool)
    assert result.state == "change"
    lines = result.text.splitlines()
    assert lines[:2] == ["--- live/NodePool/nodepool-gpu", "+++ rendered/NodePool/nodepool-gpu"]
    assert "-    consolidateAfter: 5m" in lines and "+    consolidateAfter: 30s" in lines
    assert sum(1 for line in lines if line.startswith(("-", "+"))) == 4  # headers + one change


def test_a_field_missing_live_shows_as_added() -> None:
    pool = next(o for o in rendered() if o["kind"] == "NodePool")
    live = as_served(pool)
    del live["spec"]["limits"]
    text = diff_object("p", live, pool).text
    assert "+  limits:" in text and "\n-" not in text.split("@@", 1)[1]


def test_a_new_object_is_all_added() -> None:
    pool = next(o for o in rendered() if o["kind"] == "NodePool")
    result = diff_object("NodePool/nodepool-gpu", None, pool)
    assert result.state == "create"
    body = result.text.splitlines()[3:]
    assert result.text.startswith("--- /dev/null\n+++ rendered/NodePool/nodepool-gpu\n")
    assert body and all(line.startswith("+") for line in body)


def test_shared_values_print_in_full_without_yaml_anchors() -> None:
    tags = {"karpenter.sh/discovery": "demo"}
    ours = {"spec": {"a": [{"tags": tags}], "b": [{"tags": tags}]}}
    text = diff_object("x", None, ours).text
    assert "&" not in text and "*" not in text and text.count("karpenter.sh/discovery") == 2


def test_prune_matches_named_items_and_keeps_other_lists_whole() -> None:
    live = {
        "containers": [{"name": "b", "image": "2", "x": 1}, {"name": "a", "image": "1", "y": 2}],
        "args": ["--one", "--two", "--three"],
        "pair": [{"k": 1, "extra": 0}, {"k": 2, "extra": 0}],
    }
    ours = {
        "containers": [{"name": "a", "image": "1"}],
        "args": ["--one"],
        "pair": [{"k": 1}, {"k": 3}],
    }
    assert prune(live, ours) == {
        "containers": [{"name": "a", "image": "1"}],
        "args": ["--one", "--two", "--three"],
        "pair": [{"k": 1}, {"k": 2}],
    }


def test_strip_server_fields() -> None:
    live = as_served(rendered()[0])
    stripped = strip_server_fields(live)
    assert "status" not in stripped
    assert set(stripped["metadata"]) == {"name", "labels", "annotations"}


def owning(live: Obj, manager: str, fields: Obj, operation: str = "Apply") -> Obj:
    live["metadata"]["managedFields"] = [
        {"manager": manager, "operation": operation, "fieldsV1": fields}
    ]
    return live


def test_a_field_we_owned_and_no_longer_render_shows_as_removed() -> None:
    pool = next(o for o in rendered() if o["kind"] == "NodePool")
    live = as_served(pool)
    live["spec"]["limits"]["memory"] = "1000Gi"
    live["metadata"]["labels"]["team"] = "ml"
    fields = {
        "f:metadata": {"f:labels": {"f:team": {}}},
        "f:spec": {"f:limits": {"f:memory": {}}, "f:weight": {}},
    }
    live["spec"]["weight"] = 10
    text = diff_object("p", owning(live, "eks-gpu", fields), pool).text
    removed = [line for line in text.splitlines() if line.startswith("-") and "---" not in line]
    assert removed == ["-    team: ml", "-    memory: 1000Gi", "-  weight: 10"]


def test_fields_another_manager_owns_are_not_ours_to_show() -> None:
    pool = next(o for o in rendered() if o["kind"] == "NodePool")
    live = as_served(pool)
    live["spec"]["weight"] = 10
    assert diff_object("p", owning(live, "kubectl", {"f:spec": {"f:weight": {}}}), pool).text == ""
    update = owning(as_served(pool), "eks-gpu", {"f:spec": {"f:weight": {}}}, "Update")
    update["spec"]["weight"] = 10
    assert diff_object("p", update, pool).text == ""  # only what eks-gpu applied counts


def test_an_owned_field_dropped_whole_shows_whole() -> None:
    ours = {"spec": {"a": 1}}
    live = {"metadata": {}, "spec": {"a": 1, "taints": [{"key": "k"}], "m": {"x": 1}}}
    fields = {"f:spec": {"f:a": {}, "f:taints": {}, "f:m": {}}}
    assert prune(live, ours, fields) == {"spec": live["spec"]}
    assert owned_fields(owning(live, "eks-gpu", fields), "eks-gpu") == fields
    assert owned_fields(live, "helm") == {}
