"""YAML/JSON text in, objects tagged with where they came from out.

A YAML syntax error is a :class:`ManifestError` (exit 2) naming the source, line and column;
``kind: List`` (and any ``*List``) is flattened, so ``kubectl get -o yaml`` output reads as
the objects it holds. A key repeated in one mapping is kept (the last value wins, as PyYAML
reads it) and recorded on the manifest with its line: the API server decodes strictly and
refuses it, so ``validate`` reports it as an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from eks_gpu.errors import EXIT_USAGE, EksGpuError


class ManifestError(EksGpuError):
    """Input that cannot be read or parsed as Kubernetes YAML, or an object that lacks a
    field the command needs."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class DuplicateKey:
    """A mapping key written twice in one YAML document; ``line``/``column`` are 1-based."""

    key: str
    line: int
    column: int


@dataclass(frozen=True)
class Manifest:
    """One object and where it came from (``source`` is a path or ``-``; ``index`` the doc)."""

    obj: dict[str, Any]
    source: str
    index: int
    duplicate_keys: tuple[DuplicateKey, ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_group(self) -> str:
        """``karpenter.sh`` for ``karpenter.sh/v1``; ``""`` for the core group."""
        api_version = str(self.obj.get("apiVersion", ""))
        return api_version.split("/")[0] if "/" in api_version else ""

    @property
    def name(self) -> str:
        metadata = self.obj.get("metadata")
        return str(metadata.get("name", "")) if isinstance(metadata, dict) else ""


def flatten(obj: Any, where: str = "") -> Iterator[dict[str, Any]]:
    """``kind: List`` (and ``*List``) items, recursively; other mappings as they are.

    Raises:
        ManifestError: a List whose ``items`` is not a list (``where`` names the document).
    """
    if isinstance(obj, dict) and str(obj.get("kind", "")).endswith("List") and "items" in obj:
        items = obj.get("items") or []
        if not isinstance(items, list):
            raise ManifestError(
                f"{where or 'a List'}: items is a {type(items).__name__}, not a list",
                hint="a kind: List holds its objects under items: as a list",
            )
        for item in items:
            yield from flatten(item, where)
    elif isinstance(obj, dict):
        yield obj


# libyaml's loader is ~10x faster on big files (CRDs are 100-300 KB); same safe semantics.
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ALIAS_ALLOWANCE = 100_000
"""Nodes that aliases may add to a document beyond its own size (see :func:`expanded_size`)."""


class ExcessiveAliasing(yaml.constructor.ConstructorError):
    """A document whose aliases expand it far beyond its size: a "billion laughs" YAML bomb.

    Loading one is cheap (an alias is a shared reference), but every consumer that walks the
    objects (schema checks, JSON output, the CEL rules) would pay for the expansion. The rule
    follows go-yaml's (gopkg.in/yaml.v2 decode.go ``allowedAliasRatio``), which sigs.k8s.io/yaml
    and so kubectl apply: a document may not grow by more than its own size plus a margin.
    """


def expanded_size(root: yaml.Node) -> tuple[int, int]:
    """``(distinct, expanded)`` node counts of a composed document: ``expanded`` counts a node
    once per alias that reaches it. Iterative, so a deep document cannot overflow the stack."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return len(sizes), sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _GuardedLoader:
    """Mixed into a safe loader: notes every key a mapping repeats, and refuses a document
    whose aliases expand it past :data:`ALIAS_ALLOWANCE` before constructing it."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)  # type: ignore[call-arg]
        self.duplicates: list[DuplicateKey] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                mark = key_node.start_mark
                self.duplicates.append(DuplicateKey(str(key), mark.line + 1, mark.column + 1))
            seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[misc]

    def construct_document(self, node: yaml.Node) -> Any:
        distinct, expanded = expanded_size(node)
        if expanded - distinct > max(ALIAS_ALLOWANCE, distinct):
            raise ExcessiveAliasing(
                problem=f"aliases expand {distinct:,} YAML nodes to {expanded:,} (a YAML bomb?)",
                problem_mark=node.start_mark,
            )
        return super().construct_document(node)  # type: ignore[misc]


class _Loader(_GuardedLoader, _BASE_LOADER):  # type: ignore[misc]
    """libyaml parses (fast on 100-300 KB CRDs); Python constructs."""


class _PreciseLoader(_GuardedLoader, yaml.SafeLoader):
    """PyYAML's own parser: slower, but its syntax errors quote the offending character
    (``found character '\\t' that cannot start any token``), which a hand-written config wants."""


MAX_DEPTH_MESSAGE = "nested too deeply"


def load_yaml(text: str, *, precise: bool = False) -> list[tuple[Any, tuple[DuplicateKey, ...]]]:
    """Every document of ``text`` with the keys it repeats (safe tags only); ``precise``
    parses with PyYAML's own parser, for its more specific syntax errors.

    Raises:
        yaml.YAMLError: bad syntax, an unsafe tag, a YAML bomb (:class:`ExcessiveAliasing`),
            or nesting too deep to build (libyaml stops at 1,000 levels; the pure-Python
            parser would overflow the stack first, which is reported the same way).
    """
    loader = _PreciseLoader(text) if precise else _Loader(text)
    out = []
    try:
        while loader.check_data():
            document = loader.get_data()
            out.append((document, tuple(loader.duplicates)))
            loader.duplicates = []
    except RecursionError:
        raise yaml.YAMLError(MAX_DEPTH_MESSAGE) from None
    finally:
        loader.dispose()
    return out


def parse_documents(text: str, source: str) -> list[Manifest]:
    """Every object in ``text``; empty documents are skipped."""
    try:
        documents = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise ManifestError(
            f"{source}{where}: not valid YAML: {reason}",
            hint="fix the YAML syntax at that line",
        ) from None
    out: list[Manifest] = []
    for index, (document, duplicates) in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ManifestError(
                f"{source}: document {index + 1} is a {type(document).__name__}, not an object",
                hint="each YAML document must be one Kubernetes object (or a kind: List)",
            )
        where = f"{source}: document {index + 1}"
        out.extend(Manifest(obj, source, index, duplicates) for obj in flatten(document, where))
    return out


__all__ = [
    "ALIAS_ALLOWANCE",
    "DuplicateKey",
    "ExcessiveAliasing",
    "Manifest",
    "ManifestError",
    "expanded_size",
    "flatten",
    "load_yaml",
    "parse_documents",
]
