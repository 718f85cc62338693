"""Least privilege, proven on the real API server, and nothing leaks from what eks-gpu reads.

Each mode's ClusterRole, as ``eks-gpu rbac --for MODE -o json`` prints it, is bound to a real
ServiceAccount (TokenRequest token, accounts.py); every command of the mode runs as that
account: no 403 may happen, and the API server's audit log must show no request by that
account outside the role (each call's verb and resource checked against the printed rules),
so the role and the code cannot drift apart. With one rule taken away, the error names that
exact rule. Then secrets are planted (a Secret's data, an env value, an EC2NodeClass's
userData, the account's own token, a rejected token) and every command's stdout and stderr,
with and without ``--debug``, is searched for them.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.cluster.client import rbac_rule

from .accounts import ServiceAccountKubeconfig, write_token_kubeconfig
from .audit import Call, calls_since, mark
from .kube import Kube, Obj
from .plane import REFERENCE, Plane, install_crds
from .test_apply import karpenter_deployment, rendered

pytestmark = pytest.mark.controlplane

RunCli = Any
SUFFIX = uuid.uuid4().hex[:6]
CLUSTER = "plane-test"
SECRETS_NAMESPACE = f"secrets-{SUFFIX}"
SECRET_DATA = f"planted-secret-data-{SUFFIX}"
SECRET_ENV = f"planted-env-value-{SUFFIX}"
SECRET_USERDATA = f"planted-userdata-{SUFFIX}"
REJECTED_TOKEN = f"planted-rejected-token-{SUFFIX}"
VERIFY_STEPS = ("--only", "objects,device-plugin,nodes", "--timeout", "10s")


def role_rules(run_cli: RunCli, mode: str) -> list[dict[str, Any]]:
    """The rules ``eks-gpu rbac --for MODE`` prints: what is bound is what is printed."""
    result = run_cli("rbac", "--for", mode, "-o", "json")
    assert result.code == 0, result.err
    (role,) = json.loads(result.out)["items"]
    assert role["kind"] == "ClusterRole" and role["metadata"]["name"] == f"eks-gpu-{mode}"
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def allows(rules: list[dict[str, Any]], call: Call) -> bool:
    """Whether ``rules`` grant ``call`` (as the RBAC authorizer reads them, without wildcards
    in resources: we never print any)."""
    if not call.resource:  # a non-resource URL: discovery
        path = call.uri.split("?", 1)[0]
        for rule in rules:
            for url in rule.get("nonResourceURLs") or []:
                hit = path == url or (url.endswith("*") and path.startswith(url[:-1]))
                if hit and call.verb in rule["verbs"]:
                    return True
        return False
    base, _, sub = call.resource.partition("/")
    plural, _, group = base.partition(".")
    resource = f"{plural}/{sub}" if sub else plural
    return any(
        group in rule.get("apiGroups", ())
        and resource in rule.get("resources", ())
        and call.verb in rule["verbs"]
        for rule in rules
    )


def account_namespace() -> str:
    """A fresh namespace per account: a deleted one lingers while it is emptied."""
    return f"rbac-{uuid.uuid4().hex[:6]}"


def outside(rules: list[dict[str, Any]], calls: list[Call], namespace: str, name: str) -> list[str]:
    """The account's calls the rules do not grant, or that were refused."""
    mine = [c for c in calls if c.user == f"system:serviceaccount:{namespace}:{name}"]
    assert mine, "no request by the account reached the audit log"
    return [
        f"{c.verb} {c.resource or c.uri} -> {c.code}"
        for c in mine
        if c.code == 403 or not allows(rules, c)
    ]


def run(run_cli: RunCli, kubeconfig: Path, *args: str) -> tuple[int, str]:
    """One command as the account; returns its exit code and stdout + stderr."""
    result = run_cli(*args, "--kubeconfig", str(kubeconfig))
    text = result.out + result.err
    assert "Traceback" not in text and "internal error" not in text, text
    return result.code, text


@pytest.fixture(scope="module")
def cluster(plane: Plane, kube: Kube) -> Iterator[None]:
    """NodeOverlay's CRD and a Karpenter Deployment naming the cluster (the preflight reads
    it), with a planted env value."""
    install_crds(plane, [REFERENCE / "karpenter" / "karpenter.sh_nodeoverlays.yaml"])
    deployment = karpenter_deployment(CLUSTER)
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "API_KEY", "value": SECRET_ENV})
    kube.apply(deployment, "helm", force=True)
    yield
    kube.apply(karpenter_deployment(CLUSTER), "helm", force=True)


@pytest.fixture
def config(tmp_path: Path, kube: Kube, cluster: None) -> Iterator[Path]:
    """A config that renders every kind apply writes (time-slicing: a ConfigMap and
    NodeOverlays); its objects are deleted afterwards."""
    data = {
        "clusterName": CLUSTER,
        "nodeClasses": [{"name": f"nc-{SUFFIX}"}],
        "nodePools": [{"name": f"np-{SUFFIX}", "nodeClass": f"nc-{SUFFIX}"}],
        "devicePlugin": {"sharing": {"timeSlicing": {"replicas": 2}}},
        "tests": {"namespace": f"tests-{SUFFIX}"},
    }
    path = tmp_path / "eks-gpu.yaml"
    path.write_text(yaml.safe_dump(data))
    yield path
    for obj in rendered(path):
        kube.delete(obj)


def test_read_role_is_enough_for_every_read_command(
    run_cli: RunCli,
    plane: Plane,
    kube: Kube,
    config: Path,
    tmp_path: Path,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    for obj in rendered(config):  # something to diff against and to read
        kube.apply(obj, "admin-setup")
    rules = role_rules(run_cli, "read")
    namespace = account_namespace()
    kubeconfig = service_account_kubeconfig(namespace, "reader", rules)
    start = mark(plane.audit_log)
    commands = [
        ("status",),
        ("status", "-o", "wide"),
        ("status", "--watch", "--watch-timeout", "1"),
        ("doctor",),
        ("dump", "-o", str(tmp_path / "dump.yaml")),
        ("diff", "-c", str(config)),
        ("validate", "-c", str(config), "--from-cluster"),
    ]
    for args in commands:
        code, text = run(run_cli, kubeconfig, *args)
        assert "forbidden" not in text.lower(), (args, text)
        assert code in (0, 1), (args, code, text)  # 1: findings or differences
    assert outside(rules, calls_since(start), namespace, "reader") == []


def test_apply_role_is_enough_for_apply_and_delete(
    run_cli: RunCli,
    plane: Plane,
    kube: Kube,
    config: Path,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    rules = role_rules(run_cli, "apply")
    namespace = account_namespace()
    kubeconfig = service_account_kubeconfig(namespace, "applier", rules)
    start = mark(plane.audit_log)
    for args in (
        ("apply", "-c", str(config), "--dry-run", "server"),
        ("apply", "-c", str(config), "--yes"),
        ("apply", "-c", str(config), "--yes"),  # the second time: updates, not creates
        ("delete", "-c", str(config), "--dry-run", "server"),
        ("delete", "-c", str(config), "--yes"),
    ):
        code, text = run(run_cli, kubeconfig, *args)
        assert code == 0 and "forbidden" not in text.lower(), (args, text)
    assert all(kube_missing(kube, obj) for obj in rendered(config))
    calls = calls_since(start)
    user = f"system:serviceaccount:{namespace}:applier"
    assert {c.verb for c in calls if c.user == user} >= {"patch", "delete"}
    assert outside(rules, calls, namespace, "applier") == []


def kube_missing(kube: Kube, obj: Obj) -> bool:
    from .kube import ApiError

    try:
        found = kube.get(kube.object_path(obj))
    except ApiError as err:
        return err.status == 404
    return bool(found["metadata"].get("deletionTimestamp"))


def test_verify_role_is_enough_for_verify(
    run_cli: RunCli,
    plane: Plane,
    kube: Kube,
    config: Path,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    for obj in rendered(config):
        kube.apply(obj, "admin-setup")
    rules = role_rules(run_cli, "verify")
    namespace = account_namespace()
    kubeconfig = service_account_kubeconfig(namespace, "verifier", rules)
    start = mark(plane.audit_log)
    code, text = run(run_cli, kubeconfig, "verify", "-c", str(config), *VERIFY_STEPS)
    assert "forbidden" not in text.lower(), text
    assert code in (0, 1), text  # the pool has no nodes here: a failed check, not a 403
    assert outside(rules, calls_since(start), namespace, "verifier") == []


def without(rules: list[dict[str, Any]], resource: str, verb: str) -> list[dict[str, Any]]:
    """``rules`` with ``verb`` taken off ``resource``'s rule."""
    out = copy.deepcopy(rules)
    for rule in out:
        if resource in rule.get("resources", ()):
            rule["verbs"] = [v for v in rule["verbs"] if v != verb]
    return out


@pytest.mark.parametrize(
    ("mode", "group", "resource", "verb", "args"),
    [
        ("read", "", "pods", "list", ("status",)),
        ("read", "karpenter.sh", "nodepools", "get", ("diff", "-c", "{config}")),
        ("apply", "karpenter.sh", "nodepools", "create", ("apply", "-c", "{config}", "--yes")),
        ("apply", "apps", "daemonsets", "delete", ("delete", "-c", "{config}", "--yes")),
        ("verify", "karpenter.k8s.aws", "ec2nodeclasses", "get", ("verify", "-c", "{config}")),
    ],
)
def test_a_missing_rule_is_named_exactly(
    run_cli: RunCli,
    kube: Kube,
    config: Path,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    mode: str,
    group: str,
    resource: str,
    verb: str,
    args: tuple[str, ...],
) -> None:
    if args[0] in ("diff", "delete", "verify"):
        for obj in rendered(config):
            kube.apply(obj, "admin-setup")
    rules = without(role_rules(run_cli, mode), resource, verb)
    kubeconfig = service_account_kubeconfig(account_namespace(), f"less-{mode}", rules)
    argv = [a.format(config=config) for a in args]
    if argv[0] == "verify":
        argv += VERIFY_STEPS
    code, text = run(run_cli, kubeconfig, *argv)
    assert code != 0, text
    qualified = f"{resource}.{group}" if group else resource
    assert f"your user needs {verb} on {qualified}" in text, text
    assert rbac_rule(qualified, verb) in text, text


# --- nothing leaks ---------------------------------------------------------------------------


@pytest.fixture
def planted(kube: Kube, cluster: None) -> Iterator[None]:
    """A Secret with data, and an EC2NodeClass of someone else's with userData (the
    Deployment's env value is planted by ``cluster``)."""
    from .accounts import ensure_namespace

    ensure_namespace(kube, SECRETS_NAMESPACE)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "planted", "namespace": SECRETS_NAMESPACE},
        "data": {"password": base64.b64encode(SECRET_DATA.encode()).decode()},
    }
    nodeclass = next(o for o in rendered_guide() if o["kind"] == "EC2NodeClass")
    nodeclass = copy.deepcopy(nodeclass)
    nodeclass["metadata"] = {"name": f"theirs-{SUFFIX}"}
    nodeclass["spec"]["userData"] = f"#!/bin/bash\nexport JOIN_TOKEN={SECRET_USERDATA}\n"
    for obj in (secret, nodeclass):
        kube.apply(obj, "someone-else", force=True)
    yield
    for obj in (secret, nodeclass):
        kube.delete(obj)
    kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SECRETS_NAMESPACE}})


def rendered_guide() -> list[Obj]:
    from eks_gpu.config.parse import config_from_data
    from eks_gpu.render.bundle import render_all

    return [item.obj for item in render_all(config_from_data({}), CLUSTER)]


def token_of(kubeconfig: Path) -> str:
    token: str = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
    return token


def test_no_command_prints_a_planted_secret(
    run_cli: RunCli,
    plane: Plane,
    kube: Kube,
    config: Path,
    planted: None,
    tmp_path: Path,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    rules = [r for mode in ("read", "apply", "verify") for r in role_rules(run_cli, mode)]
    kubeconfig = service_account_kubeconfig(account_namespace(), "everything", rules)
    token = token_of(kubeconfig)
    rejected = write_token_kubeconfig(plane, tmp_path / "rejected", "rejected", REJECTED_TOKEN)
    secrets = (SECRET_DATA, SECRET_ENV, SECRET_USERDATA, token, REJECTED_TOKEN)
    encoded = base64.b64encode(SECRET_DATA.encode()).decode()
    commands = [
        ("status",),
        ("status", "-o", "json"),
        ("doctor",),
        ("doctor", "-o", "json"),
        ("dump",),
        ("dump", "--format", "json"),
        ("diff", "-c", str(config)),
        ("apply", "-c", str(config), "--dry-run", "server"),
        ("apply", "-c", str(config), "--dry-run", "client", "-o", "json"),
        ("verify", "-c", str(config), *VERIFY_STEPS),
    ]
    seen = []
    for identity in (kubeconfig, rejected):
        for args in commands:
            for debug in ((), ("--debug",)):
                result = run_cli(*debug, *args, "--kubeconfig", str(identity))
                text = result.out + result.err
                seen.append(text)
                leaked = [s for s in (*secrets, encoded) if s in text]
                assert not leaked, (args, debug, identity.name, leaked)
    everything = "\n".join(seen)
    assert "REDACTED" in everything  # the planted env value and userData were read, redacted
    assert "401" in everything  # the rejected token was tried, and said so


# --- verify with its test pods, as the verify role ------------------------------------------
# Last in the module: test_verify's setup (real Karpenter on kwok, recorded GPU output served
# as the pods' logs) owns the device plugin DaemonSet while it runs.

from .test_verify import FAST, _wait_no_run_namespace  # noqa: E402
from .test_verify import cluster as verify_cluster  # noqa: E402,F401  (a module fixture)


def test_verify_role_is_enough_for_the_test_pods(
    run_cli: RunCli,
    plane: Plane,
    kube: Kube,
    verify_cluster: dict[str, Any],  # noqa: F811
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    rules = role_rules(run_cli, "verify")
    namespace = account_namespace()
    kubeconfig = service_account_kubeconfig(namespace, "verifier", rules)
    start = mark(plane.audit_log)
    argv = ("verify", "-c", str(verify_cluster["config"]), "-o", "json", *FAST)
    code, text = run(run_cli, kubeconfig, *argv)
    assert "forbidden" not in text.lower(), text
    assert code == 0, text  # every step passed, the test pods' logs read, cleanup done
    calls = calls_since(start)
    user = f"system:serviceaccount:{namespace}:verifier"
    done = {(c.verb, c.resource) for c in calls if c.user == user}
    assert {("patch", "pods"), ("get", "pods/log"), ("delete", "namespaces")} <= done, done
    assert outside(rules, calls, namespace, "verifier") == []
    _wait_no_run_namespace(kube)
