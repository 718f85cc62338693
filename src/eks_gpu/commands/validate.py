"""``validate``: offline validation as strict as the API server, plus GPU lint rules.

Manifests come from files (``-`` is stdin), else from what ``render`` would produce, or
from the caller (``plan`` passes its render). ``--from-cluster`` is the one place the
command layer reads the cluster: its CRDs, and live objects for transition rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.config_source import DEFAULT_SOURCE, RenderSource, rendered_manifests
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:
    from eks_gpu.cluster.client import Client
    from eks_gpu.manifests import Manifest
    from eks_gpu.validate.engine import LiveLookup
    from eks_gpu.validate.findings import Finding

KIND = "ValidationReport"


@dataclass(frozen=True)
class ValidationResult:
    """Every finding (errors first) and every check that could not run, with its reason."""

    findings: tuple[Finding, ...]
    skipped: tuple[str, ...]
    messages: tuple[str, ...] = ()
    origins: tuple[tuple[str, str, int], ...] = ()
    """``(object ref, source, document index)`` of every object, for ``-o sarif``'s
    locations; not part of the JSON document."""

    def count(self, severity: str) -> int:
        """How many findings have ``severity``."""
        return sum(1 for finding in self.findings if finding.severity == severity)

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.count("error") else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The ValidationReport document: findings, error and warning counts, skipped checks."""
        return envelope(
            KIND,
            {
                "findings": [finding.as_json() for finding in self.findings],
                "errors": self.count("error"),
                "warnings": self.count("warning"),
                "skipped": list(self.skipped),
            },
        )


def _check_flags(
    paths: Sequence[str], source: RenderSource, from_cluster: bool, crd_paths: Sequence[str],
    kubeconfig: str | None, kube_context: str | None,
) -> None:  # fmt: skip
    if paths and source.given:
        raise UsageError(
            "-c/--profile/--cluster-name choose what to render; they do not apply to files",
            hint="drop them to validate the files, or drop the files to validate the render",
        )
    if from_cluster and crd_paths:
        raise UsageError("--crds and --from-cluster both choose the CRDs", hint="keep one of them")
    if (kubeconfig or kube_context) and not from_cluster:
        raise UsageError(
            "--kubeconfig/--context choose the cluster of --from-cluster",
            hint="add --from-cluster, or drop them",
        )


def _input(
    paths: Sequence[str], source: RenderSource, manifests: Sequence[Manifest] | None
) -> Sequence[Manifest]:
    from eks_gpu.loaders.manifest_files import load_manifests

    if manifests is not None:
        return manifests
    return load_manifests(paths) if paths else rendered_manifests(source)


def _input_names(paths: Sequence[str]) -> str:
    return ", ".join("stdin" if path == "-" else path for path in paths)


def check_not_empty(paths: Sequence[str], objects: Sequence[Manifest]) -> None:
    """Refuse files (or stdin) that hold no object at all.

    ``kubectl get nodepools -o yaml | eks-gpu validate -`` whose kubectl failed hands us an
    empty stdin; reporting "0 errors" would read as a pass. kubectl refuses the same input:
    ``kubectl apply --dry-run=client -f empty.yaml`` exits 1 with ``error: no objects passed
    to apply`` (k8s.io/kubectl pkg/cmd/apply/apply.go, ``ApplyOptions.Run``).

    Raises:
        ManifestError: ``paths`` were given and yielded no object (exit 2).
    """
    from eks_gpu.manifests import ManifestError

    if paths and not objects:
        raise ManifestError(
            f"no objects in INPUT: {_input_names(paths)}; did the command producing it fail?",
            hint="check the command or file that feeds validate; pass --allow-empty when "
            "empty input is expected (e.g. a folder that may hold no manifests yet)",
        )


def _connect(kubeconfig: str | None, kube_context: str | None) -> tuple[Client, LiveLookup]:
    from eks_gpu.cluster.client import connect
    from eks_gpu.cluster.reader import live_lookup

    client = connect(kubeconfig, kube_context)
    return client, live_lookup(client)


def validate(
    paths: Sequence[str] = (),
    *,
    source: RenderSource = DEFAULT_SOURCE,
    manifests: Sequence[Manifest] | None = None,
    crd_paths: Sequence[str] = (),
    karpenter_version: str | None = None,
    from_cluster: bool = False,
    kubeconfig: str | None = None,
    kube_context: str | None = None,
    kubernetes_version: str | None = None,
    eks_admission: bool = True,
    skip_crd_checks: bool = False,
    allow_empty: bool = False,
) -> ValidationResult:
    """Validate ``manifests``, else the files at ``paths``, else the render of ``source``
    (``eks_admission=False``: the pods of a cluster without EKS's ExtendedResourceToleration
    admission). Files or stdin with no object are an error unless ``allow_empty``."""
    from eks_gpu.commands.crd_source import choose_crds
    from eks_gpu.validate.core import DEFAULT_KUBERNETES_VERSION, check_kubernetes_version
    from eks_gpu.validate.engine import Options, validate_manifests
    from eks_gpu.validate.findings import object_ref

    _check_flags(paths, source, from_cluster, crd_paths, kubeconfig, kube_context)
    version = check_kubernetes_version(kubernetes_version or DEFAULT_KUBERNETES_VERSION)
    objects = _input(paths, source, manifests)
    if not allow_empty:
        check_not_empty(paths, objects)
    client, live = _connect(kubeconfig, kube_context) if from_cluster else (None, None)
    try:
        choice = choose_crds(crd_paths, karpenter_version, client, skip=skip_crd_checks)
        options = Options(
            choice.crds, choice.missing, version, choice.karpenter_version, live, eks_admission
        )
        report = validate_manifests(objects, options)
    finally:
        if client is not None:
            client.close()  # transition rules read live objects during validate_manifests
    origins = tuple((object_ref(m.obj), m.source, m.index) for m in objects)
    return ValidationResult(tuple(report.findings), tuple(report.skipped), origins=origins)


__all__ = ["KIND", "ValidationResult", "check_not_empty", "validate"]
