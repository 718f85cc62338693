"""Every rendered profile, checked by an outside tool: checkov's Kubernetes framework.

``eks-gpu render --out-dir`` writes each case (the four profiles, time-slicing, digest-pinned
images) into one folder, and one checkov run reads them all (a run costs seconds of start-up,
so one, not one per profile). Any failed check must be in ``tests/data/checkov-allowlist.yaml``
with its reason, and every (check, object) pair listed there must still fail somewhere, so the
list cannot go stale. A deliberately unhardened pod rides along in the same run to prove that
an unlisted failure is caught. docs/hardening.md says what checkov checks and why each
allow-list entry exists.

checkov comes from the dev extras (``pip install -e '.[dev]'``); it is run as a program, never
imported, and eks_gpu itself must not import it.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.cli.main import main
from eks_gpu.config.parse import config_from_data
from eks_gpu.config.profiles import profile_config
from eks_gpu.render.bundle import render_all

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = Path(__file__).parent / "data" / "checkov-allowlist.yaml"
PROFILES = ("guide", "dev", "inference", "training")
# A syntactically valid digest for the "digests" case; checkov only reads the reference.
FAKE_DIGEST = "@sha256:" + "0" * 64
CONFIG_CASES: dict[str, dict[str, Any]] = {
    # The time-slicing config of tests/golden (adds the sharing ConfigMap and its mount).
    "time-slicing": {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 4}}}},
    # The allow-list's advice for CKV_K8S_43, taken: every image pinned by digest.
    "digests": {
        "devicePlugin": {"image": "nvcr.io/nvidia/k8s-device-plugin" + FAKE_DIGEST},
        "tests": {
            "cudaImage": "nvcr.io/nvidia/cuda" + FAKE_DIGEST,
            "pytorchImage": "pytorch/pytorch" + FAKE_DIGEST,
        },
    },
}
CASES = (*PROFILES, *CONFIG_CASES)
MUTANT_CASE = "mutant"
MUTANT = "Pod.eks-gpu-tests.mutant-unhardened"
# The kinds we render that checkov has checks for (none for Namespace or Karpenter's kinds).
CHECKED_KINDS = ("Pod", "DaemonSet", "ConfigMap")


@dataclass(frozen=True)
class Failure:
    """One failed check: checkov's id and name, its resource id, and the case it came from."""

    check: str
    name: str
    obj: str
    case: str


@dataclass(frozen=True)
class Report:
    """What the one checkov run found, with every (case, resource id) it examined."""

    failures: tuple[Failure, ...]
    examined: frozenset[tuple[str, str]]
    summary: dict[str, Any]


def _case_of(file_path: str) -> str:
    """checkov reports paths relative to the scanned folder: ``/guide/tests/x.yaml``."""
    return file_path.strip("/").split("/", 1)[0]


def render_case(case: str, out_dir: Path, work: Path) -> None:
    """``eks-gpu render --out-dir`` for a profile or a config case, as a user runs it."""
    args = ["render", "--cluster-name", "demo", "--out-dir", str(out_dir)]
    if case in CONFIG_CASES:
        config = work / f"{case}.yaml"
        config.write_text(yaml.safe_dump(CONFIG_CASES[case]))
        args += ["-c", str(config)]
    else:
        args += ["--profile", case]
    assert main(args) == 0, f"render of {case} failed"


def write_mutant(scan: Path) -> None:
    """The guide's nvidia-smi pod with its hardening removed, under another name."""
    source = yaml.safe_load((scan / "guide" / "tests" / "test-gpu-simple.yaml").read_text())
    pod = copy.deepcopy(source)
    pod["metadata"]["name"] = MUTANT.rsplit(".", 1)[1]
    del pod["spec"]["securityContext"]
    container = pod["spec"]["containers"][0]
    del container["securityContext"]
    del container["resources"]["limits"]
    (scan / MUTANT_CASE).mkdir()
    (scan / MUTANT_CASE / "pod.yaml").write_text(yaml.safe_dump(pod))


def run_checkov(folder: Path) -> dict[str, Any]:
    """checkov's JSON report for ``folder``: Kubernetes framework only, fully offline."""
    if importlib.util.find_spec("checkov") is None:
        pytest.fail("checkov is missing: install the dev extras, pip install -e '.[dev]'")
    env = {
        **os.environ,
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no PyPI version check
        "BC_SKIP_MAPPING": "TRUE",  # no guideline download from the vendor's API
    }
    command = [sys.executable, "-m", "checkov.main", "-d", str(folder)]
    command += ["--framework", "kubernetes", "-o", "json", "--skip-download"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    # checkov exits 1 when any check fails; anything else, or no JSON, is a broken run.
    assert done.returncode in (0, 1), f"checkov failed ({done.returncode}): {done.stderr[-2000:]}"
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    (kubernetes,) = (r for r in reports if r.get("check_type") == "kubernetes")
    result: dict[str, Any] = kubernetes
    return result


def parse_report(raw: dict[str, Any]) -> Report:
    """The failures and examined resources of checkov's kubernetes report."""
    results = raw["results"]
    failures = tuple(
        Failure(f["check_id"], f["check_name"], f["resource"], _case_of(f["file_path"]))
        for f in results["failed_checks"]
    )
    checks = (*results["failed_checks"], *results["passed_checks"])
    examined = {(_case_of(c["file_path"]), c["resource"]) for c in checks}
    return Report(failures, frozenset(examined), raw["summary"])


def load_allowlist(path: Path = ALLOWLIST) -> list[dict[str, Any]]:
    """The allow-list entries: ``check``, ``name``, ``objects``, ``why``."""
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text())
    return entries


def allowed_pairs(entries: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (check id, object) pair the allow-list accepts."""
    return {(e["check"], obj) for e in entries for obj in e["objects"]}


def unlisted(failures: Iterable[Failure], entries: list[dict[str, Any]]) -> list[Failure]:
    """Failures no allow-list entry accepts: each one is a finding to fix in the render."""
    allowed = allowed_pairs(entries)
    return [f for f in failures if (f.check, f.obj) not in allowed]


def stale(failures: Iterable[Failure], entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Allow-listed (check, object) pairs that failed nowhere: the render improved, or an
    object was renamed; either way the entry must go."""
    seen = {(f.check, f.obj) for f in failures}
    return sorted(allowed_pairs(entries) - seen)


def _describe(failures: Iterable[Failure]) -> str:
    return "\n".join(f"  {f.check} {f.obj} ({f.case}): {f.name}" for f in failures)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """Render every case, add the mutant, run checkov once over all of it."""
    work = tmp_path_factory.mktemp("checkov")
    scan = work / "scan"
    for case in CASES:
        render_case(case, scan / case, work)
    write_mutant(scan)
    return parse_report(run_checkov(scan))


def ours(report: Report) -> list[Failure]:
    """The failures of the rendered cases, without the mutant's."""
    return [f for f in report.failures if f.case != MUTANT_CASE]


def test_checkov_read_every_rendered_object(report: Report) -> None:
    assert report.summary["parsing_errors"] == 0
    assert report.summary["passed"] > 0
    expected = set()
    for case, config in _configs().items():
        for obj in (item.obj for item in render_all(config, "demo")):
            if obj["kind"] in CHECKED_KINDS:
                namespace = obj["metadata"].get("namespace", "default")
                expected.add((case, f"{obj['kind']}.{namespace}.{obj['metadata']['name']}"))
    assert len(expected) > len(CASES) * 5
    assert expected <= report.examined, f"checkov did not examine {expected - report.examined}"


def test_no_failed_check_outside_the_allow_list(report: Report) -> None:
    missing = unlisted(ours(report), load_allowlist())
    assert not missing, (
        "checkov failed checks that tests/data/checkov-allowlist.yaml does not list; fix the "
        f"render (src/eks_gpu/render/), or list them with the reason:\n{_describe(missing)}"
    )


def test_allow_list_has_no_stale_entry(report: Report) -> None:
    leftover = stale(ours(report), load_allowlist())
    assert not leftover, (
        "allow-listed checks that no longer fail; remove them from "
        f"tests/data/checkov-allowlist.yaml: {leftover}"
    )


def test_allow_list_entries_name_a_check_objects_and_a_reason() -> None:
    entries = load_allowlist()
    assert entries
    for entry in entries:
        assert set(entry) == {"check", "name", "objects", "why"}, entry
        assert entry["check"].startswith(("CKV_K8S_", "CKV2_K8S_")), entry["check"]
        assert entry["objects"] and all(o.count(".") >= 2 for o in entry["objects"]), entry
        assert len(entry["why"].split()) >= 10, f"{entry['check']}: say why it is allowed"
    checks = [e["check"] for e in entries]
    assert len(checks) == len(set(checks)), "one entry per check id"


def test_an_unhardened_pod_fails_the_allow_list(report: Report) -> None:
    """The same run and the same filter as the real test, on a pod stripped of its hardening:
    what we fixed in the render is exactly what must never come back unnoticed."""
    mutant = [f for f in report.failures if f.obj == MUTANT]
    caught = {f.check for f in unlisted(mutant, load_allowlist())}
    # allowPrivilegeEscalation, seccomp, NET_RAW / capabilities, CPU and memory limits, UID.
    for check in ("CKV_K8S_20", "CKV_K8S_31", "CKV_K8S_28", "CKV_K8S_11", "CKV_K8S_13"):
        assert check in caught, f"{check} not reported for the unhardened pod: {sorted(caught)}"


def test_a_stale_entry_is_reported(report: Report) -> None:
    """An entry for a check our pods pass (CKV_K8S_20: no privilege escalation), and one for
    an object that does not exist, are both stale; the real list has neither."""
    entries = [
        *load_allowlist(),
        {"check": "CKV_K8S_20", "objects": ["Pod.eks-gpu-tests.gpu-simple-test"]},
        {"check": "CKV_K8S_8", "objects": ["Pod.eks-gpu-tests.renamed-test"]},
    ]
    assert stale(ours(report), entries) == [
        ("CKV_K8S_20", "Pod.eks-gpu-tests.gpu-simple-test"),
        ("CKV_K8S_8", "Pod.eks-gpu-tests.renamed-test"),
    ]


def test_digest_pinned_images_pass_the_digest_check(report: Report) -> None:
    """The allow-list's advice for CKV_K8S_43 works: with digests the check passes."""
    digests = [f for f in report.failures if f.case == "digests"]
    assert digests, "the digests case produced no results"
    assert not [f for f in digests if f.check == "CKV_K8S_43"]
    guide = [f for f in report.failures if f.case == "guide" and f.check == "CKV_K8S_43"]
    assert len(guide) == 4, "tags are flagged on the device plugin and the three test pods"


# The hardening itself, asserted on the render for every case (checkov aside).


def _configs() -> dict[str, Any]:
    configs = {p: profile_config(p) for p in PROFILES}
    configs.update({c: config_from_data(data) for c, data in CONFIG_CASES.items()})
    return configs


def _objects(case: str, kind: str) -> list[dict[str, Any]]:
    return [i.obj for i in render_all(_configs()[case], "demo") if i.obj["kind"] == kind]


@pytest.mark.parametrize("case", CASES)
def test_test_pods_are_hardened(case: str) -> None:
    pods = _objects(case, "Pod")
    assert len(pods) == 3
    for pod in pods:
        spec = pod["spec"]
        assert spec["activeDeadlineSeconds"] > 0
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] >= 10000
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert "privileged" not in security
            limits = container["resources"]["limits"]
            assert {"cpu", "memory", "nvidia.com/gpu"} <= set(limits), limits


@pytest.mark.parametrize("case", CASES)
def test_device_plugin_is_hardened(case: str) -> None:
    (daemonset,) = _objects(case, "DaemonSet")
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in spec and "hostPID" not in spec
    (container,) = spec["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert set(container["resources"]) == {"requests", "limits"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    host_paths = [v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v]
    assert host_paths == ["/var/lib/kubelet/device-plugins"]


@pytest.mark.parametrize("case", CASES)
def test_nodeclasses_keep_imdsv2_and_encrypted_volumes(case: str) -> None:
    nodeclasses = _objects(case, "EC2NodeClass")
    assert nodeclasses
    for nodeclass in nodeclasses:
        metadata = nodeclass["spec"]["metadataOptions"]
        assert metadata["httpTokens"] == "required"
        assert metadata["httpPutResponseHopLimit"] == 1
        mappings = nodeclass["spec"]["blockDeviceMappings"]
        assert mappings and all(m["ebs"]["encrypted"] is True for m in mappings)


def test_eks_gpu_never_imports_checkov() -> None:
    """checkov is a dev tool: the CLI must install and run without it."""
    for path in (ROOT / "src" / "eks_gpu").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "checkov" for n in names), path
