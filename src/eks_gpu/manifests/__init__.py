"""Kubernetes objects as plain dicts: parsed from YAML/JSON text (multi-document, ``kind:
List``), tagged with where they came from, grouped for the rules, and the one place that
knows where a workload keeps its pod spec. Pure: reading files is :mod:`eks_gpu.loaders`'.
"""

from __future__ import annotations

from eks_gpu.manifests.document import Manifest, ManifestError, parse_documents
from eks_gpu.manifests.manifest_set import ManifestSet
from eks_gpu.manifests.pod_spec import POD_TEMPLATE_KINDS, pod_spec_of, pod_spec_path

__all__ = [
    "POD_TEMPLATE_KINDS",
    "Manifest",
    "ManifestError",
    "ManifestSet",
    "parse_documents",
    "pod_spec_of",
    "pod_spec_path",
]
