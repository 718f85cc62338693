"""The probes' source, shipped into the test pods as a ConfigMap (one source of truth).

The test pods run stock images (CUDA, PyTorch) that know nothing of eks-gpu, so the probe
scripts travel as a ConfigMap built from the installed package's own files
(``eks_gpu/probes/*.py``) and run with the image's ``python3`` from a read-only mount.
Nothing is copied or templated: what a pod runs is byte for byte what ``python3
src/eks_gpu/probes/<name>.py`` runs by hand and what the probes' tests exercise.

Reading the files is the one read this renderer does, and it stays deterministic: they are
read-only package data shipped in the wheel, found through :mod:`importlib.resources` (the
same way the catalog reads its bundled data), never a user path, the network or the clock.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from eks_gpu.config.test_pods import Tests
from eks_gpu.errors import EksGpuError
from eks_gpu.render.metadata import object_meta

PROBES_CONFIGMAP = "eks-gpu-probes"
PROBES_MOUNT = "/opt/eks-gpu/probes"
PROBES_VOLUME = "probes"
PROBE_FILES = ("gpu.py", "pytorch.py", "storage.py")
PROBES_PACKAGE = "eks_gpu.probes"
READ_ONLY_MODE = 0o444  # scripts are read, never executed directly: python3 runs them


class ProbeSourceError(EksGpuError):
    """A probe file missing from the installed package (a broken install)."""


def probe_path(name: str) -> str:
    """Where ``name`` (one of :data:`PROBE_FILES`) sits inside a test pod."""
    return f"{PROBES_MOUNT}/{name}"


def probe_source(name: str) -> str:
    """The text of the packaged probe ``name``, exactly as shipped (bytes decoded as UTF-8,
    newlines untouched)."""
    try:
        data = resources.files(PROBES_PACKAGE).joinpath(name).read_bytes()
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProbeSourceError(
            f"the bundled probe {name} cannot be read: {error}",
            hint="reinstall eks-gpu (pip install --force-reinstall eks-gpu)",
        ) from None


def render_probes_configmap(tests: Tests) -> dict[str, Any]:
    """The ConfigMap holding every probe script, in the test namespace."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(PROBES_CONFIGMAP, tests.namespace),
        "data": {name: probe_source(name) for name in PROBE_FILES},
    }


def probes_volume() -> dict[str, Any]:
    """The pod volume projecting the ConfigMap's files, readable by the non-root user."""
    return {
        "name": PROBES_VOLUME,
        "configMap": {"name": PROBES_CONFIGMAP, "defaultMode": READ_ONLY_MODE},
    }


def probes_mount() -> dict[str, Any]:
    """The container's read-only mount of :func:`probes_volume` at :data:`PROBES_MOUNT`."""
    return {"name": PROBES_VOLUME, "mountPath": PROBES_MOUNT, "readOnly": True}


__all__ = [
    "PROBES_CONFIGMAP",
    "PROBES_MOUNT",
    "PROBE_FILES",
    "ProbeSourceError",
    "probe_path",
    "probe_source",
    "probes_mount",
    "probes_volume",
    "render_probes_configmap",
]
