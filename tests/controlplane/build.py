"""Build the control-plane binaries from the pinned Go wrapper modules in hack/controlplane/.

Each module is built into its own cache folder named after a hash of its go.mod, go.sum, the
Go version and the build flags, so a folder is reused while those are unchanged and a version
bump builds only the module that changed. The cache root is ``$EKS_GPU_CONTROLPLANE_CACHE``,
else ``${XDG_CACHE_HOME:-~/.cache}/eks-gpu/controlplane``.

:data:`ORACLE` (``hack/allocatable-oracle``: Karpenter's AWS instance-type code behind a
JSON pipe, for ``tests/test_allocatable_oracle.py``) is built the same way, by ``build_all``
too, but is not part of the control plane's binaries.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HACK = REPO / "hack" / "controlplane"
FORMAT = "1"  # bump to invalidate every cached build (e.g. when the flags below change)


@dataclass(frozen=True)
class Module:
    """One wrapper module: its folder under hack/controlplane and the binaries it builds."""

    name: str
    binaries: dict[str, str]  # binary name -> main package
    stamp_kubernetes_version: bool = False
    data: tuple[str, ...] = ()  # files of the first binary's module, copied next to the binaries
    root: Path = HACK

    @property
    def dir(self) -> Path:
        return self.root / self.name


MODULES = (
    Module("etcd", {"etcd": "go.etcd.io/etcd/server/v3"}),
    Module(
        "kubernetes",
        {
            "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
            "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
            "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
        },
        stamp_kubernetes_version=True,
    ),
    Module(
        "kwok",
        {"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
        data=(
            "kustomize/stage/node/fast/node-initialize.yaml",
            "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
            "kustomize/stage/pod/fast/pod-ready.yaml",
            "kustomize/stage/pod/fast/pod-delete.yaml",
            # kwok's log simulation, read from the API: a test says what a pod "printed"
            "kustomize/crd/bases/kwok.x-k8s.io_logs.yaml",
            "kustomize/crd/bases/kwok.x-k8s.io_clusterlogs.yaml",
        ),
    ),
    Module(
        "karpenter",
        {"karpenter-kwok": "sigs.k8s.io/karpenter/kwok"},
        data=(
            # the chart's copy is a symlink, which module zips drop
            "kwok/apis/crds/karpenter.kwok.sh_kwoknodeclasses.yaml",
            "kwok/charts/crds/karpenter.sh_nodeoverlays.yaml",
            "kwok/charts/crds/autoscaling.x-k8s.io_capacitybuffers.yaml",
        ),
    ),
)
ORACLE = Module("allocatable-oracle", {"allocatable-oracle": "."}, root=REPO / "hack")
BUILD_FLAGS = ("-trimpath",)
BUILD_ENV = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false", "GOTOOLCHAIN": "local"}


class BuildError(RuntimeError):
    """Go is missing or a build failed; the message says which and how to fix it."""


def cache_root() -> Path:
    explicit = os.environ.get("EKS_GPU_CONTROLPLANE_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "eks-gpu" / "controlplane"


def go_binary() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError("Go is not installed (no `go` on PATH)")
    return go


def _go(args: list[str], cwd: Path, **extra_env: str) -> str:
    env = {**os.environ, **BUILD_ENV, **extra_env}
    proc = subprocess.run(
        [go_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise BuildError(f"`go {' '.join(args)}` in {cwd} failed:\n{proc.stderr.strip()}")
    return proc.stdout.strip()


def _key(module: Module, go_version: str) -> str:
    digest = hashlib.sha256()
    digest.update(repr((FORMAT, go_version, BUILD_FLAGS, sorted(BUILD_ENV.items()))).encode())
    for name in ("go.mod", "go.sum"):
        digest.update((module.dir / name).read_bytes())
    return digest.hexdigest()[:16]


def module_dir(module: Module, go_version: str | None = None) -> Path:
    """Where ``module``'s binaries live (or will live) for the current versions."""
    version = go_version or _go(["env", "GOVERSION"], REPO)
    return cache_root() / f"{module.name}-{_key(module, version)}"


def _ldflags(module: Module) -> str:
    flags = ["-s", "-w"]
    if module.stamp_kubernetes_version:
        version = _go(["list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes"], module.dir)
        major, minor = version.lstrip("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X {pkg}.gitVersion={version}",
                f"-X {pkg}.gitMajor={major}",
                f"-X {pkg}.gitMinor={minor}",
                f"-X {pkg}.gitTreeState=clean",
            ]
    return " ".join(flags)


def _copy_data(module: Module, dest: Path, only: list[str] | None = None) -> None:
    package = next(iter(module.binaries.values()))
    src = Path(_go(["list", "-f", "{{.Module.Dir}}", package], module.dir))
    for rel in module.data:
        if only is None or Path(rel).name in only:
            shutil.copyfile(src / rel, dest / Path(rel).name)


def _missing(module: Module, dest: Path) -> list[str]:
    """Binaries and data files of ``module`` not yet in ``dest`` (a folder built before they
    were added to ``module`` while its go.mod stayed the same)."""
    names = [*module.binaries, *(Path(rel).name for rel in module.data)]
    return [name for name in names if not (dest / name).exists()]


def _build(module: Module, names: list[str], into: Path, log) -> None:  # type: ignore[no-untyped-def]
    ldflags = _ldflags(module)
    for binary in names:
        package = module.binaries[binary]
        start = time.monotonic()
        log(f"{module.name}: go build {package} -> {binary}")
        _go(
            ["build", *BUILD_FLAGS, f"-ldflags={ldflags}", "-o", str(into / binary), package],
            module.dir,
        )
        log(f"{module.name}: {binary} built in {time.monotonic() - start:.0f}s")


def build_module(module: Module, log=print) -> Path:  # type: ignore[no-untyped-def]
    """Build ``module`` into its cache folder unless it is there already; returns the folder.

    A complete folder that lacks a binary added to ``module`` later (same go.mod) gets just
    that binary (or data file), made aside and renamed in, so a reader never sees half a file.
    """
    dest = module_dir(module)
    if (dest / ".complete").exists():
        missing = _missing(module, dest)
        if not missing:
            log(f"{module.name}: cached in {dest}")
            return dest
        log(f"{module.name}: cached in {dest} but for {', '.join(missing)}")
        aside = dest / f".tmp-{os.getpid()}"
        shutil.rmtree(aside, ignore_errors=True)
        aside.mkdir()
        _build(module, [name for name in missing if name in module.binaries], aside, log)
        if any(name not in module.binaries for name in missing):
            _copy_data(module, aside, missing)
        for name in missing:
            (aside / name).rename(dest / name)
        aside.rmdir()
        return dest
    tmp = dest.with_name(dest.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _build(module, list(module.binaries), tmp, log)
    if module.data:
        _copy_data(module, tmp)
    (tmp / ".complete").write_text("")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def binaries(modules: tuple[Module, ...] = MODULES) -> dict[str, Path] | None:
    """Paths of every built binary and data file, or None when some module is not built yet."""
    version = _go(["env", "GOVERSION"], REPO)
    found: dict[str, Path] = {}
    for module in modules:
        folder = module_dir(module, version)
        if not (folder / ".complete").exists() or _missing(module, folder):
            return None
        found.update({p.name: p for p in folder.iterdir() if not p.name.startswith(".")})
    return found


def oracle_binary() -> Path | None:
    """The built allocatable oracle, or None when it is not built for the current go.mod."""
    path = module_dir(ORACLE) / "allocatable-oracle"
    return path if (path.parent / ".complete").exists() else None


def build_all(log=print) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Build every module and the oracle (cached ones are skipped); binary name -> path."""
    for module in (*MODULES, ORACLE):
        build_module(module, log)
    found = binaries((*MODULES, ORACLE))
    assert found is not None
    return found


if __name__ == "__main__":
    try:
        for name, path in sorted(build_all().items()):
            print(f"{name}: {path}")
    except BuildError as err:
        sys.exit(f"error: {err}")
