"""``eks-gpu rbac`` and ``cluster/permissions.py``: the printed roles, and the code held to them.

What is checked here without a cluster: the output is deterministic ClusterRoles labelled as
ours; every kind the commands LIST (``cluster/snapshot.SOURCES``), every kind ``apply``
writes (every profile, time-slicing included) and every kind ``verify`` creates is in the
role of its mode; a 403 from the API server names exactly the rule missing, for every rule
of every mode. On the real API server, with the audit log: tests/controlplane/test_rbac.py.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import yaml

from eks_gpu.cluster.client import Failure, Target, rbac_rule, translate
from eks_gpu.cluster.permissions import MODES, WRITTEN, allowed, permissions, rules
from eks_gpu.cluster.snapshot import SOURCES
from eks_gpu.commands.rbac import rbac
from eks_gpu.config.parse import config_from_data
from eks_gpu.config.profiles import PROFILES
from eks_gpu.errors import UsageError
from eks_gpu.render.apply_order import apply_objects
from eks_gpu.render.bundle import render_all

RunCli = Any
Obj = dict[str, Any]
TARGET = Target("ctx", "me", "https://api")


def group_plural(path: str) -> tuple[str, str]:
    """``/apis/apps/v1/daemonsets`` -> ``("apps", "daemonsets")``; core: ``("", "pods")``."""
    parts = path.strip("/").split("/")
    if parts[0] == "api":
        return "", parts[2]
    return parts[1], parts[3]


PLURALS = {"EC2NodeClass": "ec2nodeclasses", "NodePool": "nodepools", "ConfigMap": "configmaps",
           "DaemonSet": "daemonsets", "NodeOverlay": "nodeoverlays", "Namespace": "namespaces",
           "Pod": "pods"}  # fmt: skip


def group_of(obj: Obj) -> str:
    api_version = str(obj["apiVersion"])
    return api_version.split("/")[0] if "/" in api_version else ""


# --- the output ------------------------------------------------------------------------------


def test_yaml_is_deterministic_cluster_roles_labelled_as_ours(run_cli: RunCli) -> None:
    first, second = run_cli("rbac"), run_cli("rbac")
    assert first.code == 0 and first.out == second.out
    roles = [doc for doc in yaml.safe_load_all(first.out) if doc]
    assert [r["metadata"]["name"] for r in roles] == [f"eks-gpu-{m}" for m in MODES]
    for mode, role in zip(MODES, roles, strict=True):
        assert role["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert role["kind"] == "ClusterRole"
        assert role["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "eks-gpu"}
        assert role["rules"] == rules(mode)
    # Each rule's reason is a comment above its role.
    assert "#   pods/log (get): doctor and dump read" in first.out


def test_for_picks_modes_and_json_is_a_list(run_cli: RunCli) -> None:
    result = run_cli("rbac", "--for", "verify", "--for", "read", "-o", "json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["kind"] == "List"
    assert [r["metadata"]["name"] for r in document["items"]] == ["eks-gpu-read", "eks-gpu-verify"]


def test_unknown_mode() -> None:
    with pytest.raises(UsageError, match="--for: unknown mode 'write'"):
        rbac(["write"])
    assert run_usage("rbac", "--for", "write") == 2


def run_usage(*args: str) -> int:
    from eks_gpu.cli.main import main

    return main(list(args))


def test_no_mode_asks_for_secrets_or_wildcards() -> None:
    for mode in MODES:
        for rule in rules(mode):
            assert "*" not in rule.get("resources", []) and "*" not in rule["verbs"]
            assert "secrets" not in rule.get("resources", [])
            assert rule["verbs"], rule


# --- the code is held to the list ------------------------------------------------------------


def test_every_kind_the_snapshot_lists_is_readable() -> None:
    for source in SOURCES:
        group, plural = group_plural(source.path)
        assert allowed("read", group, plural, "list"), source.kind
        assert allowed("verify", group, plural, "list"), source.kind  # doctor on a stuck pod


def test_status_watch_kinds_are_watchable() -> None:
    from eks_gpu.commands.status import WATCHED_KINDS

    for source in SOURCES:
        if source.kind in WATCHED_KINDS:
            assert allowed("read", *group_plural(source.path), "watch"), source.kind


CONFIGS = [{"profile": name} for name in PROFILES] + [
    {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 2}}}}
]


@pytest.mark.parametrize("data", CONFIGS, ids=lambda d: str(d.get("profile", "time-slicing")))
def test_every_kind_apply_writes_is_in_the_apply_role(data: dict[str, Any]) -> None:
    if "profile" in data:
        from eks_gpu.config.profiles import profile_config

        config = profile_config(data["profile"])
    else:
        config = config_from_data(data)
    for obj in apply_objects(render_all(config, "demo")):
        group, plural = group_of(obj), PLURALS[obj["kind"]]
        assert (group, plural) in WRITTEN, obj["kind"]
        for verb in ("get", "create", "patch", "delete"):
            assert allowed("apply", group, plural, verb), (obj["kind"], verb)
        assert allowed("read", group, plural, "get"), obj["kind"]  # diff


def test_every_kind_verify_creates_is_in_the_verify_role() -> None:
    from eks_gpu.verify.plan import plan_of, run_objects
    from eks_gpu.verify.steps import POD_STEPS

    config = config_from_data({"tests": {"enabled": True}})
    rendered = [item.obj for item in render_all(config, "demo")]
    plan = plan_of(rendered, config.test_pool().name)
    expires = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    objects = run_objects(plan, "run1", POD_STEPS, expires)
    assert {o["kind"] for o in objects} == {"Namespace", "ConfigMap", "Pod"}
    for obj in objects:
        group, plural = group_of(obj), PLURALS[obj["kind"]]
        assert allowed("verify", group, plural, "create"), obj["kind"]
        assert allowed("verify", group, plural, "patch"), obj["kind"]


# --- a 403 names the missing rule ------------------------------------------------------------


def forbidden(verb: str, resource: str, group: str, namespace: str | None) -> Obj:
    """The API server's 403 body (responsewriters.forbiddenMessage)."""
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{resource} "x" is forbidden: User "system:serviceaccount:ops:eks-gpu" cannot '
        f'{verb} resource "{resource}" in API group "{group}" {where}'
    )
    return {"kind": "Status", "code": 403, "reason": "Forbidden", "message": message}


@pytest.mark.parametrize("mode", MODES)
def test_each_rule_missing_is_named_exactly(mode: str) -> None:
    for permission in permissions(mode):
        for verb in permission.verbs:
            body = forbidden(verb, permission.resource, permission.group, "kube-system")
            error = translate(Failure("/api/v1/x", 403, body, method="PATCH"), TARGET)
            expected = rbac_rule(permission.qualified, verb)
            single = {"apiGroups": [permission.group], "resources": [permission.resource],
                      "verbs": [verb]}  # fmt: skip
            assert yaml.safe_load(expected) == single
            assert expected in (error.hint or ""), (mode, permission.qualified, verb)
            assert f"needs {verb} on {permission.qualified}" in error.message
            assert "eks-gpu rbac" in (error.hint or "")


def test_a_create_through_apply_is_named_create_not_patch() -> None:
    """Server-side apply of a new object is a PATCH the server authorizes as ``create``."""
    body = forbidden("create", "nodepools", "karpenter.sh", None)
    failure = Failure("/apis/karpenter.sh/v1/nodepools/gpu", 403, body, method="PATCH")
    error = translate(failure, TARGET)
    assert rbac_rule("nodepools.karpenter.sh", "create") in (error.hint or "")
    assert "needs create on nodepools.karpenter.sh" in error.message


def test_a_403_without_the_servers_words_falls_back_to_the_method() -> None:
    body = {"kind": "Status", "code": 403, "message": "denied by a webhook"}
    failure = Failure("/api/v1/namespaces/a/pods/p/log", 403, body, method="GET")
    assert "needs get/list on pods" in translate(failure, TARGET).message


def test_docs_list_every_rule_with_its_reason() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "rbac.md").read_text()
    for mode in MODES:
        section = doc.split(f"### {mode}\n", 1)[1].split("\n#", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        expected = [
            f"| `{p.qualified}` | {', '.join(p.verbs)} | {p.why} |" for p in permissions(mode)
        ]
        assert rows == expected, mode
