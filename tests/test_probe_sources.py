"""The probes reach the test pods as a ConfigMap built from the package's own files.

One source of truth: the ConfigMap's data is the shipped ``eks_gpu/probes/*.py`` byte for
byte, the pods run those files with the image's ``python3`` from a read-only mount, and no
inline Python is left in any pod.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import eks_gpu.probes
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.parse import config_from_data
from eks_gpu.probes import pytorch as pytorch_probe
from eks_gpu.probes import storage as storage_probe
from eks_gpu.render.apply_order import apply_objects
from eks_gpu.render.bundle import render_all
from eks_gpu.render.probe_sources import (
    PROBE_FILES,
    PROBES_CONFIGMAP,
    PROBES_MOUNT,
    ProbeSourceError,
    probe_source,
    render_probes_configmap,
)
from eks_gpu.render.serialize import to_yaml
from eks_gpu.render.test_pods import (
    render_pytorch_test,
    render_simple_test,
    render_storage_test,
)

PROBES_DIR = Path(eks_gpu.probes.__file__).parent
LAST_APPLIED_LIMIT = 256 * 1024  # apimachinery TotalAnnotationSizeLimitB (262144 bytes)


def _configmap(config: GpuConfig | None = None) -> dict[str, Any]:
    return render_probes_configmap((config or GpuConfig()).tests)


def _pods(config: GpuConfig | None = None) -> list[dict[str, Any]]:
    config = config or GpuConfig()
    return [render_simple_test(config), render_pytorch_test(config), render_storage_test(config)]


def _probe_argv(pod: dict[str, Any]) -> list[str]:
    """The ``python3 <probe> ...`` argv a pod runs, whether direct or after ``exec`` in sh."""
    command: list[str] = pod["spec"]["containers"][0]["command"]
    if command[0] == "python3":
        return command
    assert command[:2] == ["/bin/sh", "-c"]
    words = shlex.split(command[2])
    return words[words.index("python3") :]


def _mount_of(pod: dict[str, Any]) -> dict[str, Any]:
    container = pod["spec"]["containers"][0]
    return next(m for m in container["volumeMounts"] if m["mountPath"] == PROBES_MOUNT)


def test_configmap_data_is_the_package_files_byte_for_byte() -> None:
    data = _configmap()["data"]
    assert list(data) == list(PROBE_FILES)
    for name, text in data.items():
        assert text.encode("utf-8") == (PROBES_DIR / name).read_bytes(), name


def test_a_missing_probe_file_is_a_broken_install_not_a_traceback() -> None:
    with pytest.raises(ProbeSourceError, match=r"absent\.py") as caught:
        probe_source("absent.py")
    assert caught.value.hint is not None and "reinstall" in caught.value.hint


def test_every_probe_script_is_shipped() -> None:
    """A new probe file that is not in PROBE_FILES would never reach a pod."""
    scripts = {p.name for p in PROBES_DIR.glob("*.py") if p.name != "__init__.py"}
    assert set(PROBE_FILES) == scripts


def test_configmap_survives_yaml_and_fits_client_side_apply() -> None:
    """What ``render`` writes reads back to the same text, and the whole object fits the
    ``last-applied-configuration`` annotation ``kubectl apply`` (client side) stores."""
    configmap = _configmap()
    assert yaml.safe_load(to_yaml(configmap)) == configmap
    assert len(json.dumps(configmap)) < LAST_APPLIED_LIMIT


def test_configmap_lives_in_the_test_namespace_and_is_ours() -> None:
    configmap = _configmap(config_from_data({"tests": {"namespace": "smoke"}}))
    assert (configmap["apiVersion"], configmap["kind"]) == ("v1", "ConfigMap")
    assert configmap["metadata"]["name"] == PROBES_CONFIGMAP
    assert configmap["metadata"]["namespace"] == "smoke"
    assert configmap["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "eks-gpu"}


def test_configmap_comes_after_the_namespace_and_before_the_pods() -> None:
    tests = [item for item in render_all(GpuConfig(), "demo") if item.group == "tests"]
    kinds = [item.obj["kind"] for item in tests]
    assert kinds == ["Namespace", "ConfigMap", "Pod", "Pod", "Pod"]
    assert tests[1].path == "tests/probes.yaml"


def test_apply_leaves_the_configmap_to_verify() -> None:
    """``apply`` skips the ``tests`` group (render/apply_order.py); ``verify`` creates the
    ConfigMap with the pods it runs."""
    applied = apply_objects(render_all(GpuConfig(), "demo"))
    assert PROBES_CONFIGMAP not in {o["metadata"]["name"] for o in applied}


def test_no_configmap_when_tests_are_disabled() -> None:
    config = config_from_data({"tests": {"enabled": False}})
    assert all(item.obj["kind"] != "ConfigMap" for item in render_all(config, "demo"))


@pytest.mark.parametrize("render", [render_pytorch_test, render_storage_test])
def test_probe_pods_mount_the_configmap_read_only(render: Any) -> None:
    pod = render(GpuConfig())
    mount = _mount_of(pod)
    assert mount["readOnly"] is True
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"] == {"name": PROBES_CONFIGMAP, "defaultMode": 0o444}


@pytest.mark.parametrize("render", [render_pytorch_test, render_storage_test])
def test_probe_pods_run_a_file_of_the_configmap(render: Any) -> None:
    argv = _probe_argv(render(GpuConfig()))
    directory, _, name = argv[1].rpartition("/")
    assert directory == PROBES_MOUNT
    assert name in _configmap()["data"]


def test_pytorch_pod_runs_the_torch_probe_with_its_defaults() -> None:
    argv = _probe_argv(render_pytorch_test(GpuConfig()))
    assert argv == ["python3", f"{PROBES_MOUNT}/pytorch.py"]
    pytorch_probe.parse_args(argv[2:])  # the probe accepts what the pod passes


def test_storage_pod_probes_its_scratch_dir_and_demands_raid0(tmp_path: Path) -> None:
    pod = render_storage_test(GpuConfig())
    container = pod["spec"]["containers"][0]
    argv = _probe_argv(pod)
    assert argv[1] == f"{PROBES_MOUNT}/storage.py"
    scratch = next(m for m in container["volumeMounts"] if m["name"] == "scratch")
    assert argv[argv.index("--dir") + 1] == scratch["mountPath"]
    assert "--expect-raid0" in argv
    # The probe accepts the flags (it checks --dir exists, so point it at one that does here).
    flags = [str(tmp_path) if arg == scratch["mountPath"] else arg for arg in argv[2:]]
    args = storage_probe.parse_args(flags)
    assert (args.dir, args.expect_raid0) == (str(tmp_path), True)
    assert container["command"][2].startswith("nvidia-smi -L && exec python3 ")


def test_storage_pod_uses_an_image_with_python() -> None:
    """The CUDA base image has no python3; the probe needs one."""
    config = GpuConfig()
    pod = render_storage_test(config)
    assert pod["spec"]["containers"][0]["image"] == config.tests.pytorch_image
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == "512Mi"


def test_simple_pod_needs_no_python() -> None:
    pod = render_simple_test(GpuConfig())
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["nvidia-smi"]
    assert container["image"] == GpuConfig().tests.cuda_image
    assert "volumes" not in pod["spec"]


def test_no_inline_python_is_left() -> None:
    for pod in _pods():
        command = pod["spec"]["containers"][0]["command"]
        text = " ".join(command)
        assert "import " not in text
        for i, word in enumerate(command):
            if word == "python3":
                assert command[i + 1] != "-c"
        for word in shlex.split(command[-1]) if command[0] == "/bin/sh" else []:
            assert word != "-c"  # no python3 -c inside the shell line either


# Pod Security Standards, "restricted" profile (kubernetes.io/docs/concepts/security/
# pod-security-standards/, checks of k8s.io/pod-security-admission policy/): the pods'
# namespace enforces it, so a pod breaking it would be refused at admission.
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What in ``pod`` the ``restricted`` Pod Security profile forbids."""
    spec, out = pod["spec"], []
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            out.append(f"volume {volume['name']}: {sorted(kinds)}")
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            out.append(host)
    pod_sc = spec.get("securityContext", {})
    if pod_sc.get("runAsUser") == 0:
        out.append("pod runAsUser 0")
    for container in spec["containers"] + spec.get("initContainers", []):
        sc = {**pod_sc, **container.get("securityContext", {})}
        name = container["name"]
        if sc.get("privileged"):
            out.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation not false")
        if sc.get("runAsNonRoot") is not True or sc.get("runAsUser") == 0:
            out.append(f"{name}: may run as root")
        if sc.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
            out.append(f"{name}: seccompProfile")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []) or set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            out.append(f"{name}: capabilities")
        if any("hostPort" in port for port in container.get("ports", [])):
            out.append(f"{name}: hostPort")
    return out


def test_pods_pass_the_restricted_pod_security_profile() -> None:
    for pod in _pods():
        assert restricted_violations(pod) == [], pod["metadata"]["name"]


def test_restricted_check_catches_what_it_forbids() -> None:
    pod = render_storage_test(GpuConfig())
    pod["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert restricted_violations(pod) == [
        "volume host: ['hostPath']",
        "gpu-nvme: allowPrivilegeEscalation not false",
    ]


def _project(tmp_path: Path) -> Path:
    """The ConfigMap as the kubelet projects it: one file per key, mode defaultMode."""
    configmap = _configmap()
    mount = tmp_path / "probes"
    mount.mkdir()
    for name, text in configmap["data"].items():
        (mount / name).write_bytes(text.encode("utf-8"))
        (mount / name).chmod(0o444)
    assert stat.S_IMODE((mount / "storage.py").stat().st_mode) == 0o444
    return mount


def _last_json(stdout: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def test_projected_storage_probe_runs_the_pods_command(tmp_path: Path) -> None:
    """The storage pod's shell line, run here with the projected files and a fake
    ``nvidia-smi``: the probe measures the scratch dir and fails it for not being RAID0."""
    mount, scratch, bin_dir = _project(tmp_path), tmp_path / "scratch", tmp_path / "bin"
    scratch.mkdir()
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: Tesla T4 (UUID: GPU-fake)'\n")
    fake.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    line = render_storage_test(GpuConfig())["spec"]["containers"][0]["command"][2]
    line = line.replace(PROBES_MOUNT, str(mount)).replace(" /scratch ", f" {scratch} ")
    line += " --size-mib 16 --seconds 3"  # bounded here; the pod uses the probe's defaults
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["/bin/sh", "-c", line], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    assert done.stdout.startswith("GPU 0: Tesla T4"), done.stderr
    result = _last_json(done.stdout)
    assert (done.returncode, result["probe"], result["ok"]) == (1, "storage", False)
    assert result["dir"] == str(scratch)
    assert result["raid0"] is False and result["write_mb_s"] is not None
    assert list(scratch.iterdir()) == []  # the test file is gone


def test_projected_torch_probe_runs_without_torch(tmp_path: Path) -> None:
    """The PyTorch pod's argv on the projected file; no torch here, so a clean JSON failure."""
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here; the no-torch path needs a machine without it")
    mount = _project(tmp_path)
    argv = render_pytorch_test(GpuConfig())["spec"]["containers"][0]["command"]
    argv = [sys.executable, argv[1].replace(PROBES_MOUNT, str(mount))]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    result = _last_json(done.stdout)
    assert (done.returncode, result["probe"]) == (1, "torch")
    assert result["cause"] == "no-torch"
