"""`eks-gpu validate` against its strongest oracle: the real API server, object by object.

Every broken object of the validate suite (``tests/cel_cases.yaml``: one per CEL rule of
Karpenter v1.14.1's CRDs, built by ``tests/test_cel_rules.py``) goes through both. They must
report the same errors: the same field paths and the same messages, nothing more, nothing
less. The server prefixes scalar values to its messages (``Invalid value: "": role cannot be
empty``); that prefix is the only thing normalised away.

Transition rules (``oldSelf``) are the one deliberate difference: the server checks them on
update; offline there is no old object, so validate reports them as skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import yaml

from test_cel_rules import BASES, CASES, Case, changed  # the validate suite's own table

from .kube import ApiError, Kube, Obj

pytestmark = pytest.mark.controlplane

SERVER_PREFIX = re.compile(r'^Invalid value: (?:"(?:[^"\\]|\\.)*": )?')
Errors = set[tuple[str, str]]  # (field path without the leading dot, message)


def server_errors(kube: Kube, obj: Obj, old: Obj | None) -> Errors:
    """What the API server refuses ``obj`` for (on update from ``old``, when given)."""
    try:
        if old is not None:
            kube.apply(old, "eks-gpu-test")
        kube.apply(obj, "eks-gpu-test", dry_run=True, force=True)
        return set()
    except ApiError as err:
        assert (err.status, err.reason) == (422, "Invalid"), err
        causes = err.body["details"]["causes"]
        return {(c["field"], SERVER_PREFIX.sub("", c["message"])) for c in causes}
    finally:
        if old is not None:
            kube.delete(old)


def validate_errors(run_cli, tmp_path: Path, reference: Path, obj: Obj) -> tuple[Errors, list[str]]:  # type: ignore[no-untyped-def]
    """The errors (and skipped checks) of `eks-gpu validate FILE --crds <reference CRDs>`."""
    manifest = tmp_path / "object.yaml"
    manifest.write_text(yaml.safe_dump(obj))
    crds = str(reference / "karpenter")
    result = run_cli("validate", str(manifest), "--crds", crds, "-o", "json")
    assert result.code in (0, 1), result.err
    report = json.loads(result.out)
    findings = [f for f in report["findings"] if f["severity"] == "error"]
    errors = {(f["path"].lstrip("."), f["message"]) for f in findings}
    return errors, report["skipped"]


def _objects(case: Case) -> tuple[Obj, Obj | None]:
    base = BASES[case.kind]()
    base["metadata"]["name"] = "agree-" + uuid.uuid4().hex[:8]
    old = changed(base, case.old) if case.old is not None else None
    return changed(base, case.changes), old


OFFLINE = [c for c in CASES if c.old is None]
TRANSITION = [c for c in CASES if c.old is not None]


def _id(case: Case) -> str:
    return f"{case.kind}{case.path}:{case.message[:50]}"


@pytest.mark.parametrize("case", OFFLINE, ids=[_id(c) for c in OFFLINE])
def test_validate_and_the_api_server_agree(
    case: Case,
    kube: Kube,
    reference: Path,
    tmp_path: Path,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    obj, _ = _objects(case)
    server = server_errors(kube, obj, None)
    offline, _ = validate_errors(run_cli, tmp_path, reference, obj)
    assert (case.where.lstrip("."), case.message) in server
    assert offline == server


@pytest.mark.parametrize("case", TRANSITION, ids=[_id(c) for c in TRANSITION])
def test_transition_rules_only_the_server_can_check(
    case: Case,
    kube: Kube,
    reference: Path,
    tmp_path: Path,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    obj, old = _objects(case)
    assert server_errors(kube, obj, old) == {(case.where.lstrip("."), case.message)}
    offline, skipped = validate_errors(run_cli, tmp_path, reference, obj)
    assert offline == set()
    assert any("transition rule" in line for line in skipped), skipped


def test_every_case_of_the_validate_suite_is_cross_checked() -> None:
    assert len(OFFLINE) + len(TRANSITION) == len(CASES) == 84
