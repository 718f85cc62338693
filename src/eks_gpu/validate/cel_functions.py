"""The Kubernetes CEL extension functions that CRD rules call and ``cel-python`` lacks.

The API server compiles ``x-kubernetes-validations`` with cel-go plus Kubernetes' own libraries
(regex, strings, lists, quantity, URL, IP...). ``celpy`` ships only the CEL standard library, so
a rule such as ``!x.find("^([^/]+)").endsWith("karpenter.sh")`` fails with "undeclared
reference" unless we supply ``find``. This module supplies the functions Karpenter's rules use,
plus the cheap, well-specified rest of the regex and strings libraries, with Go's semantics
(Go's ``strings.SplitN``, ``strconv.ParseInt``, RE2 regexes) so a rule passes or fails here
exactly when it does on the API server.

Functions return a :class:`~celpy.evaluation.CELEvalError` (rather than raising) for a runtime
error: celpy then propagates it like cel-go does, and ``true || error`` stays ``true``.
A rule that calls a function not listed here, nor in celpy's standard library, is reported as
not evaluated (see :data:`MACROS` and :func:`eks_gpu.validate.cel.compile_validations`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2, a dependency of cel-python
from celpy import celtypes
from celpy.evaluation import CELEvalError, CELFunction

Result = Any
"""What a CEL function returns: a celtypes value or a CELEvalError."""

MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter", "dyn"})
"""Names parsed like calls but expanded by the evaluator itself."""

_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_STRING_TO_INT = "type conversion error from 'string' to 'int'"


@lru_cache(maxsize=256)
def _regex(pattern: str) -> Any:
    """RE2, as cel-go uses; compiled once per pattern (rules reuse a handful of patterns)."""
    return re2.compile(pattern)


def _regex_or_error(pattern: str) -> Any:
    try:
        return _regex(str(pattern))
    except re2.error as error:
        return CELEvalError(f"error parsing regexp: {error}")


def find(text: celtypes.StringType, pattern: celtypes.StringType) -> Result:
    """``s.find(re)``: the first match of ``re`` in ``s``, or ``''`` (Kubernetes regex library)."""
    regex = _regex_or_error(pattern)
    if isinstance(regex, CELEvalError):
        return regex
    match = regex.search(str(text))
    return celtypes.StringType(match.group(0) if match else "")


def find_all(text: celtypes.StringType, pattern: celtypes.StringType, limit: int = -1) -> Result:
    """``s.findAll(re[, n])``: every match (at most ``n`` when ``n`` >= 0)."""
    regex = _regex_or_error(pattern)
    if isinstance(regex, CELEvalError):
        return regex
    matches = [m.group(0) for m in regex.finditer(str(text))]
    if limit >= 0:
        matches = matches[:limit]
    return celtypes.ListType([celtypes.StringType(m) for m in matches])


def split(text: celtypes.StringType, separator: celtypes.StringType, limit: int = -1) -> Result:
    """``s.split(sep[, n])`` with Go's ``strings.SplitN`` rules: ``n == 0`` gives ``[]``,
    ``n > 0`` at most ``n`` parts, an empty separator splits into characters."""
    if limit == 0:
        return celtypes.ListType([])
    if separator == "":
        parts = list(str(text))
        if 0 < limit < len(parts):
            parts = [*parts[: limit - 1], "".join(parts[limit - 1 :])]
    else:
        parts = str(text).split(str(separator), limit - 1 if limit > 0 else -1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def parse_int(value: Any) -> Result:
    """``int(x)`` for strings as cel-go does it (``strconv.ParseInt(s, 10, 64)``).

    celpy's ``int()`` is Python's: it accepts ``' 5'``, ``'1_0'`` and ``'0x10'``, which the API
    server rejects. The error text is cel-go's, so the message reads as the API server's does
    (checked against kube-apiserver: ``type conversion error from 'string' to 'int'``).
    """
    if not isinstance(value, str):
        return celtypes.IntType(value)
    if not _GO_INT.fullmatch(value) or not _INT64_MIN <= int(value) <= _INT64_MAX:
        return CELEvalError(_STRING_TO_INT)
    return celtypes.IntType(int(value))


def _index_error(index: int) -> CELEvalError:
    return CELEvalError(f"index out of range: {index}")


def char_at(text: celtypes.StringType, index: int) -> Result:
    """``s.charAt(i)``: the character at code point ``i``; ``''`` at the end."""
    if not 0 <= index <= len(text):
        return _index_error(index)
    return celtypes.StringType(text[index : index + 1])


def index_of(text: celtypes.StringType, sub: celtypes.StringType, offset: int = 0) -> Result:
    """``s.indexOf(sub[, offset])`` in code points; -1 when absent."""
    if not 0 <= offset <= len(text):
        return _index_error(offset)
    return celtypes.IntType(str(text).find(str(sub), offset))


def last_index_of(text: celtypes.StringType, sub: celtypes.StringType, offset: int = -1) -> Result:
    """``s.lastIndexOf(sub[, offset])``: the last match starting at or before ``offset``."""
    end = len(text) if offset < 0 else offset
    if end > len(text):
        return _index_error(offset)
    return celtypes.IntType(str(text).rfind(str(sub), 0, end + len(sub)))


def substring(text: celtypes.StringType, start: int, end: int | None = None) -> Result:
    """``s.substring(start[, end])`` in code points; out-of-range indices are errors."""
    stop = len(text) if end is None else end
    if not 0 <= start <= stop <= len(text):
        return CELEvalError(
            f"substring: range [{start}:{stop}] out of range for length {len(text)}"
        )
    return celtypes.StringType(text[start:stop])


def replace(
    text: celtypes.StringType, old: celtypes.StringType, new: celtypes.StringType, limit: int = -1
) -> Result:
    """``s.replace(old, new[, n])`` (Go's ``strings.Replace``; ``n < 0`` replaces all)."""
    return celtypes.StringType(str(text).replace(str(old), str(new), limit))


def _ascii(convert: Callable[[str], str]) -> Callable[[celtypes.StringType], Result]:
    """``lowerAscii``/``upperAscii`` change only ASCII letters, as Go's versions do."""

    def apply(text: celtypes.StringType) -> Result:
        return celtypes.StringType("".join(convert(c) if c.isascii() else c for c in text))

    return apply


def trim(text: celtypes.StringType) -> Result:
    """``s.trim()``: leading and trailing whitespace removed."""
    return celtypes.StringType(str(text).strip())


def join(items: celtypes.ListType, separator: str = "") -> Result:
    """``list.join([sep])`` for a list of strings."""
    if not all(isinstance(item, str) for item in items):
        return CELEvalError("no such overload: join on a list that is not all strings")
    return celtypes.StringType(str(separator).join(str(item) for item in items))


FUNCTIONS: dict[str, CELFunction] = {
    "find": find,
    "findAll": find_all,
    "split": split,
    "charAt": char_at,
    "indexOf": index_of,
    "lastIndexOf": last_index_of,
    "substring": substring,
    "replace": replace,
    "lowerAscii": _ascii(str.lower),
    "upperAscii": _ascii(str.upper),
    "trim": trim,
    "join": join,
    "int": parse_int,
}
"""Every extension function, by the name a rule calls it with."""

FUNCTIONS_WITHOUT_INT: dict[str, CELFunction] = {
    name: function for name, function in FUNCTIONS.items() if name != "int"
}
"""For a rule that names the type ``int`` (``type(x) == int``): celpy resolves the type and the
conversion function by the same name, so such a rule keeps celpy's own ``int``."""

__all__ = ["FUNCTIONS", "FUNCTIONS_WITHOUT_INT", "MACROS", "find", "parse_int", "split"]
