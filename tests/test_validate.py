"""``eks-gpu validate``: inputs, CRD sources, schema + CEL + core findings, output, exit codes."""

from __future__ import annotations

import copy
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.profiles import PROFILES, profile_config
from eks_gpu.loaders.crd_release import crds_from_paths
from eks_gpu.manifests import Manifest
from eks_gpu.render.bundle import render_all
from eks_gpu.validate.crds import KARPENTER_CRD_FILES
from eks_gpu.validate.engine import Options, validate_manifests

RunCli = Any


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees (or fills) the user's real CRD cache; the release CRDs come from the
    reference folder (conftest's ``file://`` URL) unless a test points elsewhere."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EKS_GPU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def crds_dir(reference: Path) -> str:
    return str(reference / "karpenter")


def rendered(config: GpuConfig) -> list[dict[str, Any]]:
    return [item.obj for item in render_all(config, "demo")]


def nodepool() -> dict[str, Any]:
    return copy.deepcopy(rendered(GpuConfig())[1])


def nodeclass() -> dict[str, Any]:
    return copy.deepcopy(rendered(GpuConfig())[0])


def write(tmp_path: Path, objects: list[dict[str, Any]], name: str = "in.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return str(path)


def run_json(run_cli: RunCli, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("validate", *args, "-o", "json")
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


# --- every rendered set validates clean ------------------------------------------------------


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_renders_objects_without_errors(reference: Path, profile: str) -> None:
    manifests = [
        Manifest(obj, "render", i) for i, obj in enumerate(rendered(profile_config(profile)))
    ]
    options = Options(crds_from_paths([crds_dir(reference)]), None, "1.33", "v1.14.1")
    report = validate_manifests(manifests, options)
    assert [f for f in report.findings if f.severity == "error"] == []
    assert not [s for s in report.skipped if "CRD schema" in s]


def test_validate_with_no_files_checks_the_render(run_cli: RunCli, reference: Path) -> None:
    code, report = run_json(run_cli, "--crds", crds_dir(reference))
    assert code == 0
    assert report["errors"] == 0
    assert {f["rule"] for f in report["findings"]} >= {"ami-unpinned"}
    assert set(report) == {"apiVersion", "kind", "findings", "errors", "warnings", "skipped"}
    assert (report["apiVersion"], report["kind"]) == ("eks-gpu.io/v1", "ValidationReport")
    for finding in report["findings"]:
        assert set(finding) == {"rule", "severity", "object", "path", "message", "fix"}


# --- hand-written invalid manifests: schema and CEL -----------------------------------------


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set a dotted path (list indices as numbers) in a copy of ``obj``."""
    out = copy.deepcopy(obj)
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


_DELETE = object()
REQ = "spec.template.spec.requirements"
# (id, base, dotted path, new value, rule, expected path in the finding, message fragment)
INVALID: list[tuple[str, str, str, Any, str, str, str]] = [
    ("bad-policy", "np", "spec.disruption.consolidationPolicy", "Sometimes", "schema",
     ".spec.disruption.consolidationPolicy", "is not one of"),
    ("bad-operator", "np", f"{REQ}.0.operator", "Like", "schema",
     ".spec.template.spec.requirements[0].operator", "is not one of"),
    ("unknown-field", "np", "spec.template.spec.foo", 1, "schema",
     ".spec.template.spec", "'foo' was unexpected"),
    ("bad-taint-effect", "np", "spec.template.spec.taints.0.effect", "Never", "schema",
     ".spec.template.spec.taints[0].effect", "is not one of"),
    ("bad-duration", "np", "spec.disruption.consolidateAfter", "30 seconds", "schema",
     ".spec.disruption.consolidateAfter", "does not match"),
    ("weight-too-big", "np", "spec.weight", 101, "schema", ".spec.weight", "maximum"),
    ("no-node-class-ref", "np", "spec.template.spec.nodeClassRef", _DELETE, "schema",
     ".spec.template.spec", "'nodeClassRef' is a required property"),
    ("limit-not-quantity", "np", "spec.limits.cpu", "lots", "schema", ".spec.limits.cpu",
     "does not match"),
    ("in-without-values", "np", f"{REQ}.0.values", [], "cel",
     ".spec.template.spec.requirements", "requirements with operator 'In' must have a value"),
    ("gt-two-values", "np", f"{REQ}.0", {"key": "karpenter.k8s.aws/instance-gpu-count",
     "operator": "Gt", "values": ["1", "2"]}, "cel", ".spec.template.spec.requirements",
     "must have a single positive integer value"),
    ("hostname-label", "np", "spec.template.metadata.labels", {"kubernetes.io/hostname": "x"},
     "cel", ".spec.template.metadata.labels", 'label "kubernetes.io/hostname" is restricted'),
    ("nodepool-label", "np", "spec.template.metadata.labels", {"karpenter.sh/nodepool": "x"},
     "cel", ".spec.template.metadata.labels", 'label "karpenter.sh/nodepool" is restricted'),
    ("aws-domain-requirement", "np", f"{REQ}.0.key", "karpenter.k8s.aws/made-up", "cel",
     ".spec.template.spec.requirements[0].key", 'label domain "karpenter.k8s.aws" is restricted'),
    ("budget-without-duration", "np", "spec.disruption.budgets", [{"nodes": "1",
     "schedule": "@daily"}], "cel", ".spec.disruption.budgets",
     "'schedule' must be set with 'duration'"),
    ("empty-node-class-name", "np", "spec.template.spec.nodeClassRef.name", "", "cel",
     ".spec.template.spec.nodeClassRef.name", "name may not be empty"),
    ("role-and-profile", "nc", "spec.instanceProfile", "gpu-nodes", "cel", ".spec",
     "must specify exactly one of ['role', 'instanceProfile']"),
    ("alias-format", "nc", "spec.amiSelectorTerms.0.alias", "al2023", "cel",
     ".spec.amiSelectorTerms[0].alias", "'alias' is improperly formatted"),
    ("alias-family", "nc", "spec.amiSelectorTerms.0.alias", "ubuntu@latest", "cel",
     ".spec.amiSelectorTerms[0].alias", "family is not supported"),
    ("restricted-tag", "nc", "spec.tags", {"karpenter.sh/nodepool": "x"}, "cel", ".spec.tags",
     "tag contains a restricted tag matching karpenter.sh/nodepool"),
    ("empty-subnets", "nc", "spec.subnetSelectorTerms", [], "cel", ".spec.subnetSelectorTerms",
     "subnetSelectorTerms cannot be empty"),
    ("hop-limit-zero", "nc", "spec.metadataOptions.httpPutResponseHopLimit", 0, "schema",
     ".spec.metadataOptions.httpPutResponseHopLimit", "minimum"),
    ("volume-size", "nc", "spec.blockDeviceMappings.0.ebs.volumeSize", "10GB", "schema",
     ".spec.blockDeviceMappings[0].ebs.volumeSize", "does not match"),
    ("store-policy", "nc", "spec.instanceStorePolicy", "RAID5", "schema",
     ".spec.instanceStorePolicy", "is not one of"),
    ("two-root-volumes", "nc", "spec.blockDeviceMappings.1", {"deviceName": "/dev/xvdb",
     "rootVolume": True, "ebs": {"volumeSize": "10Gi"}}, "cel", ".spec.blockDeviceMappings",
     "must have only one blockDeviceMappings with rootVolume"),
]  # fmt: skip


def _base(name: str) -> dict[str, Any]:
    return nodepool() if name == "np" else nodeclass()


def _with(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    if path.endswith(".1") and path.startswith("spec.blockDeviceMappings"):
        out = copy.deepcopy(obj)
        out["spec"]["blockDeviceMappings"].append(value)
        return out
    return _set(obj, path, value)


@pytest.mark.parametrize(
    ("base", "path", "value", "rule", "where", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in INVALID],
)
def test_invalid_manifest_is_rejected_with_the_right_message(
    run_cli: RunCli,
    reference: Path,
    tmp_path: Path,
    base: str,
    path: str,
    value: Any,
    rule: str,
    where: str,
    fragment: str,
) -> None:
    file = write(tmp_path, [_with(_base(base), path, value)])
    code, report = run_json(run_cli, file, "--crds", crds_dir(reference))
    assert code == 1
    hits = [
        f
        for f in report["findings"]
        if f["rule"] == rule and f["path"] == where and fragment in f["message"]
    ]
    assert hits, json.dumps(report["findings"], indent=1)
    assert hits[0]["object"].startswith(("NodePool/", "EC2NodeClass/"))


def test_there_are_at_least_twenty_invalid_cases() -> None:
    assert len(INVALID) >= 20
    assert {case[4] for case in INVALID} == {"schema", "cel"}


def test_core_objects_are_checked_strictly(run_cli: RunCli, tmp_path: Path) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ml"},
        "spec": {"containers": [{"name": "c", "image": "x", "gpus": 1}]},
    }
    code, report = run_json(run_cli, write(tmp_path, [pod]))
    assert code == 1
    [finding] = [f for f in report["findings"] if f["rule"] == "core-schema"]
    assert finding["object"] == "Pod/ml/p"
    assert finding["path"] == ".spec.containers[0]"
    assert "'gpus' was unexpected" in finding["message"]


def test_wrong_api_version_of_a_known_group(
    run_cli: RunCli, reference: Path, tmp_path: Path
) -> None:
    pool = nodepool()
    pool["apiVersion"] = "karpenter.sh/v1beta1"
    code, report = run_json(run_cli, write(tmp_path, [pool]), "--crds", crds_dir(reference))
    assert code == 1
    [finding] = [f for f in report["findings"] if f["path"] == ".apiVersion"]
    assert "karpenter.sh/v1" in (finding["fix"] or "")


# --- inputs ---------------------------------------------------------------------------------


def test_multi_document_list_directory_and_stdin(
    run_cli: RunCli, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered(GpuConfig())
    folder = tmp_path / "m" / "nested"
    folder.mkdir(parents=True)
    write(folder, objects[:2], "pool.yaml")
    (folder / "list.json").write_text(json.dumps({"kind": "List", "items": objects[2:]}))
    code, report = run_json(run_cli, str(tmp_path / "m"), "--crds", crds_dir(reference))
    assert code == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(yaml.safe_dump_all(objects)))
    code_stdin, report_stdin = run_json(run_cli, "-", "--crds", crds_dir(reference))
    assert code_stdin == 0
    assert report_stdin["findings"] == report["findings"]


def test_yaml_syntax_error_exits_2_with_file_and_line(run_cli: RunCli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: [oops\n")
    result = run_cli("validate", str(bad))
    assert result.code == 2
    assert f"{bad}:" in result.err and "not valid YAML" in result.err
    assert "Traceback" not in result.err


def test_missing_file_exits_2(run_cli: RunCli) -> None:
    result = run_cli("validate", "nope.yaml")
    assert result.code == 2
    assert "nope.yaml" in result.err


def test_files_and_render_flags_exclude_each_other(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("validate", write(tmp_path, rendered(GpuConfig())), "--profile", "dev")
    assert result.code == 2


def test_unknown_kubernetes_version_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("validate", "--kubernetes-version", "1.2")
    assert result.code == 2
    assert "1.33" in result.err


# --- CRD sources ----------------------------------------------------------------------------


UNREACHABLE = "http://127.0.0.1:9/{version}"


def test_without_cached_crds_the_supported_release_is_fetched(
    run_cli: RunCli, tmp_path: Path
) -> None:
    code, report = run_json(run_cli)
    assert code == 0
    assert not [s for s in report["skipped"] if "CRD schema" in s]
    cached = tmp_path / "cache" / "crds" / "karpenter-v1.14.1"
    assert sorted(p.name for p in cached.iterdir()) == sorted(
        (*KARPENTER_CRD_FILES, "karpenter.sh_nodeoverlays.yaml")
    )


def test_crds_that_cannot_be_had_exit_3_never_a_silent_pass(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EKS_GPU_KARPENTER_CRD_URL", UNREACHABLE)
    result = run_cli("validate")
    assert result.code == 3
    assert "newest supported release" in result.err and "--skip-crd-checks" in result.err
    assert "Traceback" not in result.err
    explicit = run_cli("validate", "--karpenter-version", "v1.14.1", "-o", "json")
    assert explicit.code == 3 and "--karpenter-version" in explicit.err


def test_skipping_the_crd_checks_is_explicit_and_reported(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EKS_GPU_KARPENTER_CRD_URL", UNREACHABLE)
    code, report = run_json(run_cli, "--skip-crd-checks")
    assert code == 0
    assert any("--skip-crd-checks" in s for s in report["skipped"])
    table = run_cli("validate", "--skip-crd-checks")
    assert "skipped:" in table.out and "CRD checks skipped" in table.out


def test_skip_crd_checks_with_a_crd_source_is_a_usage_error(
    run_cli: RunCli, reference: Path
) -> None:
    result = run_cli("validate", "--skip-crd-checks", "--crds", crds_dir(reference))
    assert result.code == 2


@pytest.fixture
def crd_server(reference: Path) -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server serving the reference CRDs as ``/<version>/<file>``; logs paths."""
    served: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            served.append(path)
            if path == "/v1.5.0/karpenter.sh_nodeoverlays.yaml":  # before NodeOverlay: 404
                return str(reference / "karpenter" / "no-such-file")
            return str(reference / "karpenter" / path.rsplit("/", 1)[-1])

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{{version}}", served
    finally:
        server.shutdown()


def test_karpenter_version_downloads_once_then_uses_the_cache(
    run_cli: RunCli,
    crd_server: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url, served = crd_server
    monkeypatch.setenv("EKS_GPU_KARPENTER_CRD_URL", url)
    code, report = run_json(run_cli, "--karpenter-version", "v1.14.1")
    assert code == 0
    assert not [s for s in report["skipped"] if "CRD schema" in s]
    assert sorted(served) == sorted(
        f"/v1.14.1/{name}"
        for name in (
            "karpenter.sh_nodepools.yaml",
            "karpenter.sh_nodeclaims.yaml",
            "karpenter.k8s.aws_ec2nodeclasses.yaml",
            "karpenter.sh_nodeoverlays.yaml",
        )
    )
    assert (tmp_path / "cache" / "crds" / "karpenter-v1.14.1").is_dir()
    run_json(run_cli, "--karpenter-version", "1.14.1")  # cached: no new request
    assert len(served) == 4
    _, cached = run_json(run_cli)  # no flag: v1.14.1, the newest supported, is cached
    assert not [s for s in cached["skipped"] if "CRD schema" in s]
    assert len(served) == 4


def test_a_release_without_nodeoverlays_is_usable_and_not_asked_again(
    run_cli: RunCli, crd_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Releases before NodeOverlay serve no nodeoverlays CRD (the server answers 404 for
    ``/v1.5.0/...nodeoverlays``): the other three are used, and the 404 is remembered."""
    url, served = crd_server
    monkeypatch.setenv("EKS_GPU_KARPENTER_CRD_URL", url)
    code, report = run_json(run_cli, "--karpenter-version", "v1.5.0")
    assert code == 0
    assert not [s for s in report["skipped"] if "CRD schema" in s]
    assert "/v1.5.0/karpenter.sh_nodeoverlays.yaml" in served
    before = len(served)
    run_json(run_cli, "--karpenter-version", "v1.5.0")
    assert len(served) == before


def test_bad_karpenter_version_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("validate", "--karpenter-version", "latest")
    assert result.code == 2


def test_crds_without_any_crd_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("validate", "--crds", write(tmp_path, rendered(GpuConfig())[:1]))
    assert result.code == 2
    assert "no CustomResourceDefinition" in result.err


# --- Karpenter version awareness ------------------------------------------------------------


def test_fields_newer_than_the_target_version_warn(
    run_cli: RunCli, crd_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    url, _ = crd_server
    monkeypatch.setenv("EKS_GPU_KARPENTER_CRD_URL", url)
    pool = nodepool()
    pool["spec"]["disruption"]["consolidationPolicy"] = "Balanced"
    pool["spec"]["template"]["spec"]["requirements"].append(
        {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Gte", "values": ["1"]}
    )
    file = write(tmp_path, [pool])
    _, report = run_json(run_cli, file, "--karpenter-version", "v1.8.0")
    warnings = {f["path"] for f in report["findings"] if f["rule"] == "karpenter-version"}
    assert warnings == {
        ".spec.disruption.consolidationPolicy",
        ".spec.template.spec.requirements[5].operator",
    }
    _, current = run_json(run_cli, file, "--karpenter-version", "v1.14.1")
    assert not [f for f in current["findings"] if f["rule"] == "karpenter-version"]


def test_table_output_has_a_summary_and_exit_1_on_errors(
    run_cli: RunCli, reference: Path, tmp_path: Path
) -> None:
    broken = _set(nodepool(), "spec.weight", 0)
    result = run_cli("validate", write(tmp_path, [broken]), "--crds", crds_dir(reference))
    assert result.code == 1
    assert result.out.splitlines()[0].split()[:3] == ["SEVERITY", "RULE", "OBJECT"]
    assert result.out.splitlines()[-1].startswith("1 error, ")


# --- --from-cluster: transition rules against the live object (engine side, no I/O) -------


def _transition_report(
    reference: Path, live: Any, group: str = "karpenter.k8s.aws"
) -> tuple[list[tuple[str, str]], list[str]]:
    pool = nodepool()
    pool["spec"]["template"]["spec"]["nodeClassRef"]["group"] = group
    options = Options(crds_from_paths([crds_dir(reference)]), None, "1.33", None, live)
    report = validate_manifests([Manifest(pool, "in.yaml", 0)], options)
    errors = [(f.path, f.message) for f in report.findings if f.severity == "error"]
    return errors, report.skipped


def test_transition_rules_run_against_the_live_object(reference: Path) -> None:
    asked: list[str] = []

    def live(obj: dict[str, Any]) -> dict[str, Any]:
        asked.append(f"{obj['kind']}/{obj['metadata']['name']}")
        return nodepool()  # the live twin, with the original group

    errors, skipped = _transition_report(reference, live, group="example.com")
    assert errors == [(".spec.template.spec.nodeClassRef", "nodeClassRef.group is immutable")]
    assert skipped == []
    assert asked == ["NodePool/nodepool-gpu"]  # only custom resources are looked up
    assert _transition_report(reference, live) == ([], [])  # unchanged: passes, nothing skipped


def test_without_a_live_twin_transition_rules_are_skipped(reference: Path) -> None:
    errors, skipped = _transition_report(reference, lambda obj: None, group="example.com")
    assert errors == []
    assert skipped == [
        "NodePool/nodepool-gpu: 3 transition rule(s) (oldSelf) not evaluated: no live object "
        "in the cluster (a create: the API server does not run them either)"
    ]
    _, offline = _transition_report(reference, None)
    assert offline == [
        "NodePool/nodepool-gpu: 3 transition rule(s) (oldSelf) not evaluated: without the live "
        "object (--from-cluster)"
    ]


def test_cluster_flags_need_from_cluster(run_cli: RunCli, reference: Path) -> None:
    for args in (["--context", "prod"], ["--kubeconfig", "kc"]):
        result = run_cli("validate", *args)
        assert result.code == 2 and "--from-cluster" in result.err
    both = run_cli("validate", "--from-cluster", "--crds", crds_dir(reference))
    assert both.code == 2 and "--crds and --from-cluster" in both.err


def test_from_cluster_without_a_kubeconfig_exits_3(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = run_cli("validate", "--from-cluster")
    assert result.code == 3
    assert result.err.startswith("error: no kubeconfig: $KUBECONFIG is not set")
    assert "hint: pass --kubeconfig PATH" in result.err


def test_crds_from_cluster_builds_the_same_set(reference: Path) -> None:
    from eks_gpu.validate.crds import KARPENTER_CRD_FILES, crds_from_cluster

    paths = [reference / "karpenter" / name for name in KARPENTER_CRD_FILES]
    files = crds_from_paths([str(path) for path in paths])
    objects = [yaml.safe_load(path.read_text()) for path in paths]  # as the API returns them
    cluster = crds_from_cluster(objects, "the cluster https://k (context c)")
    assert [(v.api_version, v.kind, v.openapi) for v in cluster.versions] == [
        (v.api_version, v.kind, v.openapi) for v in files.versions
    ]
    assert cluster.origin == "the cluster https://k (context c)"


# --- duplicate keys (the API server decodes strictly) ----------------------------------------


def test_a_duplicate_key_is_an_error_with_file_and_line(
    run_cli: RunCli, reference: Path, tmp_path: Path
) -> None:
    text = yaml.safe_dump(nodepool(), sort_keys=False)
    text = text.replace("  disruption:\n", "  weight: 10\n  weight: 20\n  disruption:\n", 1)
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    line = text.splitlines().index("  weight: 20") + 1
    code, report = run_json(run_cli, str(path), "--crds", crds_dir(reference))
    assert code == 1
    [finding] = [f for f in report["findings"] if f["rule"] == "duplicate-key"]
    assert finding["severity"] == "error"
    assert finding["path"] == f"{path}:{line}:3"
    assert '"weight" appears twice' in finding["message"]
    clean = run_json(run_cli, write(tmp_path, [nodepool()]), "--crds", crds_dir(reference))
    assert not [f for f in clean[1]["findings"] if f["rule"] == "duplicate-key"]


# --- NodeOverlays against the karpenter.sh/v1alpha1 CRD --------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 4}}}},
        {"nodePools": [{"instanceFamilies": ["g6f", "gr6f", "g6"]}]},
    ],
    ids=["time-slicing", "fractional"],
)
def test_rendered_node_overlays_validate_against_their_crd(
    reference: Path, data: dict[str, Any]
) -> None:
    from eks_gpu.config.parse import config_from_data

    objects = rendered(config_from_data(data, source="t"))
    assert any(obj["kind"] == "NodeOverlay" for obj in objects)
    manifests = [Manifest(obj, "render", i) for i, obj in enumerate(objects)]
    options = Options(crds_from_paths([crds_dir(reference)]), None, "1.33", "v1.14.1")
    report = validate_manifests(manifests, options)
    assert [f for f in report.findings if f.severity == "error"] == []
    assert not [s for s in report.skipped if "NodeOverlay" in s]


def test_a_bad_node_overlay_fails_its_crd_rules(
    run_cli: RunCli, reference: Path, tmp_path: Path
) -> None:
    overlay = {
        "apiVersion": "karpenter.sh/v1alpha1",
        "kind": "NodeOverlay",
        "metadata": {"name": "bad"},
        "spec": {
            "requirements": [{"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "In",
                              "values": ["8"]}],
            "capacity": {"cpu": "4"},
        },
    }  # fmt: skip
    code, report = run_json(run_cli, write(tmp_path, [overlay]), "--crds", crds_dir(reference))
    assert code == 1
    assert [f["message"] for f in report["findings"] if f["rule"] == "cel"] == [
        "invalid resource restricted"
    ]


def test_a_cache_from_before_nodeoverlays_still_works_offline(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: Path
) -> None:
    """The three CRDs an older eks-gpu cached are enough offline; the NodeOverlay CRD is
    fetched when the network is back."""
    folder = tmp_path / "cache" / "crds" / "karpenter-v1.14.1"
    folder.mkdir(parents=True)
    for name in KARPENTER_CRD_FILES:
        (folder / name).write_bytes((reference / "karpenter" / name).read_bytes())
    monkeypatch.setenv("EKS_GPU_KARPENTER_CRD_URL", UNREACHABLE)
    code, report = run_json(run_cli)
    assert code == 0 and not [s for s in report["skipped"] if "CRD schema" in s]
    assert not (folder / "karpenter.sh_nodeoverlays.yaml.absent").exists()
