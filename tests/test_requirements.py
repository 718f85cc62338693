"""The requirement algebra, table-driven: every operator pair, collections, pods."""

from __future__ import annotations

from typing import Any

import pytest

from eks_gpu.scheduling.pod_view import PodView, Variant
from eks_gpu.scheduling.requirement import MAX_INT, MIN_INT, Requirement, RequirementError
from eks_gpu.scheduling.requirements import EMPTY, Requirements
from eks_gpu.scheduling.well_known import WELL_KNOWN_LABELS, normalize_key

GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"
ZONE = "topology.kubernetes.io/zone"
OLD_ZONE = "failure-domain.beta.kubernetes.io/zone"


def r(operator: str, *values: str, key: str = "k", min_values: int | None = None) -> Requirement:
    return Requirement.create(key, operator, values, min_values)


def reqs(*items: Requirement) -> Requirements:
    return Requirements(items)


def shape(req: Requirement) -> tuple[str, list[str], int | None, int | None]:
    return req.operator, sorted(req.values), req.gte, req.lte


# --- every operator pair -------------------------------------------------------------------

OPERANDS = {
    "In": ("In", "1", "5", "x"),
    "NotIn": ("NotIn", "5", "y"),
    "Exists": ("Exists",),
    "DoesNotExist": ("DoesNotExist",),
    "Gt": ("Gt", "2"),  # gte 3
    "Lt": ("Lt", "7"),  # lte 6
    "Gte": ("Gte", "5"),
    "Lte": ("Lte", "5"),
}
DNE: tuple[str, list[str], int | None, int | None] = ("DoesNotExist", [], None, None)
# Unordered pairs: (a, b) -> expected a ∩ b == b ∩ a as (operator, values, gte, lte).
INTERSECTION = {
    ("In", "In"): ("In", ["1", "5", "x"], None, None),
    ("In", "NotIn"): ("In", ["1", "x"], None, None),
    ("In", "Exists"): ("In", ["1", "5", "x"], None, None),
    ("In", "DoesNotExist"): DNE,
    ("In", "Gt"): ("In", ["5"], None, None),  # 1 < 3, x is no integer
    ("In", "Lt"): ("In", ["1", "5"], None, None),
    ("In", "Gte"): ("In", ["5"], None, None),
    ("In", "Lte"): ("In", ["1", "5"], None, None),
    ("NotIn", "NotIn"): ("NotIn", ["5", "y"], None, None),
    ("NotIn", "Exists"): ("NotIn", ["5", "y"], None, None),
    ("NotIn", "DoesNotExist"): DNE,
    ("NotIn", "Gt"): ("NotIn", ["5"], 3, None),  # y is outside the bounds anyway
    ("NotIn", "Lt"): ("NotIn", ["5"], None, 6),
    ("NotIn", "Gte"): ("NotIn", ["5"], 5, None),
    ("NotIn", "Lte"): ("NotIn", ["5"], None, 5),
    ("Exists", "Exists"): ("Exists", [], None, None),
    ("Exists", "DoesNotExist"): DNE,
    ("Exists", "Gt"): ("Exists", [], 3, None),
    ("Exists", "Lt"): ("Exists", [], None, 6),
    ("Exists", "Gte"): ("Exists", [], 5, None),
    ("Exists", "Lte"): ("Exists", [], None, 5),
    ("DoesNotExist", "DoesNotExist"): DNE,
    ("DoesNotExist", "Gt"): DNE,
    ("DoesNotExist", "Lt"): DNE,
    ("DoesNotExist", "Gte"): DNE,
    ("DoesNotExist", "Lte"): DNE,
    ("Gt", "Gt"): ("Exists", [], 3, None),
    ("Gt", "Lt"): ("Exists", [], 3, 6),
    ("Gt", "Gte"): ("Exists", [], 5, None),
    ("Gt", "Lte"): ("Exists", [], 3, 5),
    ("Lt", "Lt"): ("Exists", [], None, 6),
    ("Lt", "Gte"): ("Exists", [], 5, 6),
    ("Lt", "Lte"): ("Exists", [], None, 5),
    ("Gte", "Gte"): ("Exists", [], 5, None),
    ("Gte", "Lte"): ("Exists", [], 5, 5),
    ("Lte", "Lte"): ("Exists", [], None, 5),
}
MIN_VALUES = [(None, None), (2, None), (None, 3), (2, 3)]


def test_the_table_covers_every_operator_pair() -> None:
    pairs = {frozenset(p) for p in INTERSECTION}
    assert len(INTERSECTION) == 36
    assert pairs == {frozenset((a, b)) for a in OPERANDS for b in OPERANDS}


@pytest.mark.parametrize("min_a, min_b", MIN_VALUES, ids=lambda m: f"min={m}")
@pytest.mark.parametrize("pair", list(INTERSECTION), ids=" ∩ ".join)
def test_intersection_of_every_operator_pair(
    pair: tuple[str, str], min_a: int | None, min_b: int | None
) -> None:
    a = r(*OPERANDS[pair[0]], min_values=min_a)
    b = r(*OPERANDS[pair[1]], min_values=min_b)
    expected = INTERSECTION[pair]
    expected_min = max((m for m in (min_a, min_b) if m is not None), default=None)
    for left, right in ((a, b), (b, a)):
        got = left.intersection(right)
        assert shape(got) == expected
        assert got.min_values == expected_min
        assert got.key == "k"
        assert left.has_intersection(right) is (expected[0] != "DoesNotExist")
        assert got.allows_nothing() is (expected[0] == "DoesNotExist")


CROSSED_AND_EDGE = [
    # (a, b, expected a ∩ b)
    (r("Gt", "7"), r("Lt", "3"), DNE),
    (r("Gte", "5"), r("Lt", "5"), DNE),
    (r("Gt", "5"), r("Lte", "5"), DNE),
    (r("Gte", "5"), r("Lte", "5"), ("Exists", [], 5, 5)),
    (r("NotIn", "5").intersection(r("Gte", "5")), r("Lte", "5"), ("NotIn", ["5"], 5, 5)),
    (r("NotIn", "5", "6", "a"), r("Gte", "6"), ("NotIn", ["6"], 6, None)),
    (r("In", "05", "5", "+5", "5.0"), r("Gte", "5"), ("In", ["+5", "05", "5"], None, None)),
    (r("In", "-3", "0", "3"), r("Lt", "0"), ("In", ["-3"], None, None)),
    (r("In", "a"), r("In", "b"), DNE),
    (r("In", "a", "b"), r("NotIn", "a", "b"), DNE),
    (r("NotIn", "a"), r("NotIn", "b"), ("NotIn", ["a", "b"], None, None)),
]


@pytest.mark.parametrize("a, b, expected", CROSSED_AND_EDGE, ids=lambda x: str(x))
def test_intersection_edges(a: Requirement, b: Requirement, expected: tuple[Any, ...]) -> None:
    assert shape(a.intersection(b)) == expected
    assert shape(b.intersection(a)) == expected
    assert a.has_intersection(b) is b.has_intersection(a) is (expected[0] != "DoesNotExist")


BOUNDED_EMPTY_RANGE = r("NotIn", "5").intersection(r("Gte", "5")).intersection(r("Lte", "5"))
HAS_INTERSECTION = [
    # (a, b, expected): the cases a has_intersection shortcut could get wrong.
    (r("In", "x"), r("Gt", "0"), False),  # non-integer outside every bound
    (r("In", "05"), r("Gte", "5"), True),  # leading zeros read as Go's Atoi does
    (r("In", "9223372036854775808"), r("Gte", "0"), False),  # beyond int64
    (r("NotIn", "a"), r("NotIn", "b"), True),  # two complements: infinite universe
    (r("NotIn", "a"), r("Exists"), True),
    (r("Gt", "7"), r("Lt", "3"), False),  # two complements whose bounds cross
    (r("Gt", "4"), r("Lt", "6"), True),  # exactly one integer, 5 (or 05, 005 …)
    (BOUNDED_EMPTY_RANGE, r("Exists"), True),  # "05" is still allowed
    (BOUNDED_EMPTY_RANGE, r("In", "5"), False),
    (BOUNDED_EMPTY_RANGE, r("In", "005"), True),
    (r("DoesNotExist"), r("DoesNotExist"), False),  # no value: absence is a collection rule
    (r("NotIn", "a"), r("DoesNotExist"), False),
    (r("In", "a", "b", "c"), r("In", "c", "d"), True),
]


@pytest.mark.parametrize("a, b, expected", HAS_INTERSECTION, ids=lambda x: str(x))
def test_has_intersection(a: Requirement, b: Requirement, expected: bool) -> None:
    assert a.has_intersection(b) is expected
    assert b.has_intersection(a) is expected
    assert (not a.intersection(b).allows_nothing()) is expected
    witness = a.intersection(b).any_value()
    assert (witness is not None) is expected
    if witness is not None:
        assert a.has(witness) and b.has(witness)


# --- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operator, values, expected",
    [
        ("In", ["b", "a", "a"], (False, {"a", "b"}, None, None)),
        ("NotIn", ["a"], (True, {"a"}, None, None)),
        ("Exists", [], (True, set(), None, None)),
        ("DoesNotExist", [], (False, set(), None, None)),
        ("Gt", ["2"], (True, set(), 3, None)),
        ("Lt", ["2"], (True, set(), None, 1)),
        ("Gte", ["2"], (True, set(), 2, None)),
        ("Lte", ["2"], (True, set(), None, 2)),
        ("Gt", ["-3"], (True, set(), -2, None)),
        ("In", [1, 2], (False, {"1", "2"}, None, None)),  # YAML integers become strings
    ],
)
def test_create(operator: str, values: list[Any], expected: tuple[Any, ...]) -> None:
    got = Requirement.create("k", operator, values)
    assert (got.complement, set(got.values), got.gte, got.lte) == expected


def test_gt_max_int_is_does_not_exist() -> None:
    assert shape(r("Gt", str(MAX_INT))) == DNE
    assert shape(r("Lt", str(MIN_INT))) == DNE
    assert shape(r("Gt", str(MAX_INT - 1))) == ("Exists", [], MAX_INT, None)
    assert r("Gt", str(MAX_INT - 1)).has(str(MAX_INT))
    assert shape(r("Gte", str(MAX_INT))) == ("Exists", [], MAX_INT, None)
    assert not r("Gte", "0").has(str(MAX_INT + 1))
    with pytest.raises(ValueError, match="64-bit integer"):
        r("Gt", str(MAX_INT + 1))


@pytest.mark.parametrize(
    "alias, current",
    [
        ("failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/zone"),
        ("failure-domain.beta.kubernetes.io/region", "topology.kubernetes.io/region"),
        ("beta.kubernetes.io/arch", "kubernetes.io/arch"),
        ("beta.kubernetes.io/os", "kubernetes.io/os"),
        ("beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type"),
        ("example.com/team", "example.com/team"),
    ],
)
def test_alias_keys_are_normalized(alias: str, current: str) -> None:
    assert normalize_key(alias) == current
    assert Requirement.create(alias, "In", ["v"]).key == current
    both = Requirements.from_labels({alias: "v"})
    assert both.keys() == {current}
    assert alias in both and current in both
    assert both.get(alias) is both.get(current) is both[alias]
    merged = both.add(Requirement.create(current, "In", ["w"]))
    assert merged.get(alias).allows_nothing()  # v and w on the same key: AND


FROM_DICTS_ERRORS = [
    ([{"key": "k", "operator": "Gt", "values": ["x"]}], r"requirements\[0\]\.values: .*integer"),
    ([{"key": "k", "operator": "Gt", "values": ["1", "2"]}], r"\[0\]\.values: .*exactly one"),
    ([{"key": "k", "operator": "Lt"}], r"\[0\]\.values: .*exactly one"),
    ([{"key": "k", "operator": "Near", "values": ["1"]}], r"\[0\]\.operator: unknown .*Near"),
    ([{"operator": "In", "values": ["1"]}], r"\[0\]\.key: required"),
    ([{"key": "", "operator": "Exists"}], r"\[0\]\.key: must be a non-empty"),
    ([{"key": "k"}], r"\[0\]\.operator: required"),
    ([{"key": "k", "operator": "In", "values": []}], r"\[0\]\.values: .*at least one"),
    ([{"key": "k", "operator": "NotIn"}], r"\[0\]\.values: .*at least one"),
    ([{"key": "k", "operator": "Exists", "values": ["a"]}], r"\[0\]\.values: .*takes no"),
    ([{"key": "k", "operator": "In", "values": "abc"}], r"\[0\]\.values: must be a list"),
    ([{"key": "k", "operator": "In", "values": [True]}], r"\[0\]\.values: must be strings"),
    (
        [{"key": "k", "operator": "In", "values": ["a"], "minValues": 2}],
        r"\[0\]\.values: minValues is 2 but only 1",
    ),
    ([{"key": "k", "operator": "Exists", "minValues": 0}], r"\[0\]\.minValues: .*positive"),
    ([{"key": "a", "operator": "Exists"}, "oops"], r"requirements\[1\]: expected a mapping"),
    ({"key": "k"}, r"requirements: must be a list"),
]


@pytest.mark.parametrize("items, message", FROM_DICTS_ERRORS)
def test_from_dicts_errors_name_the_field(items: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Requirements.from_dicts(items)
    assert isinstance(caught.value, RequirementError)


def test_from_dicts_ands_same_key_and_accepts_min_values() -> None:
    got = Requirements.from_dicts(
        [
            {"key": GPU_COUNT, "operator": "Gt", "values": ["0"]},
            {"key": GPU_COUNT, "operator": "Lt", "values": ["9"]},
            {"key": "family", "operator": "In", "values": ["g5", "g6"], "minValues": 2},
        ]
    )
    assert shape(got.get(GPU_COUNT)) == ("Exists", [], 1, 8)
    assert got.get("family").min_values == 2
    assert Requirements.from_dicts(None) == EMPTY


# --- serialisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "req, text, dicts",
    [
        (r("In", "b", "a"), "k In [a b]", [{"key": "k", "operator": "In", "values": ["a", "b"]}]),
        (r("NotIn", "a"), "k NotIn [a]", [{"key": "k", "operator": "NotIn", "values": ["a"]}]),
        (r("Exists"), "k Exists", [{"key": "k", "operator": "Exists"}]),
        (r("DoesNotExist"), "k DoesNotExist", [{"key": "k", "operator": "DoesNotExist"}]),
        (r("Gt", "0"), "k Gte 1", [{"key": "k", "operator": "Gte", "values": ["1"]}]),
        (
            r("Gt", "0").intersection(r("Lt", "9")),
            "k Gte 1 Lte 8",
            [
                {"key": "k", "operator": "Gte", "values": ["1"]},
                {"key": "k", "operator": "Lte", "values": ["8"]},
            ],
        ),
        (
            r("NotIn", "3", min_values=2).intersection(r("Gte", "1")),
            "k NotIn [3] Gte 1 minValues 2",
            [
                {"key": "k", "operator": "NotIn", "values": ["3"], "minValues": 2},
                {"key": "k", "operator": "Gte", "values": ["1"]},
            ],
        ),
    ],
)
def test_str_and_to_dicts_round_trip(req: Requirement, text: str, dicts: list[Any]) -> None:
    assert str(req) == text
    assert req.to_dicts() == dicts
    assert Requirements.from_dicts(dicts) == reqs(req)


def test_describe_truncates_long_value_lists() -> None:
    many = r("In", *(f"v{i:02}" for i in range(20)))
    assert many.describe() == "k In [v00 v01 v02 v03 v04 v05 v06 v07 and 12 more]"
    assert str(many).count("v") == 20


@pytest.mark.parametrize(
    "req, value",
    [
        (r("In", "b", "a"), "a"),
        (r("DoesNotExist"), None),
        (r("Exists"), "a"),
        (r("NotIn", "a", "a0"), "a1"),
        (r("Gt", "4"), "5"),
        (r("Lt", "4"), "3"),
        (r("NotIn", "5", "6").intersection(r("Gte", "5")), "7"),
        (BOUNDED_EMPTY_RANGE, "05"),
        (r("NotIn", str(MAX_INT)).intersection(r("Gte", str(MAX_INT))), f"0{MAX_INT}"),
        (r("NotIn", str(MIN_INT)).intersection(r("Lte", str(MIN_INT))), f"-0{-MIN_INT}"),
    ],
)
def test_any_value(req: Requirement, value: str | None) -> None:
    assert req.any_value() == value
    if value is not None:
        assert req.has(value)


# --- collections ---------------------------------------------------------------------------

INTERSECTS = [
    # (existing, incoming, reasons)
    (reqs(r("In", "a")), reqs(r("In", "a", key="other")), []),  # one-sided keys are ignored
    (reqs(r("In", "a", "b")), reqs(r("In", "b")), []),
    (reqs(r("In", "a")), reqs(r("In", "b")), ["key k, k In [b] not in k In [a]"]),
    (reqs(r("In", "a")), reqs(r("NotIn", "a")), ["key k, k NotIn [a] not in k In [a]"]),
    (reqs(r("Exists")), reqs(r("DoesNotExist")), ["key k, k DoesNotExist not in k Exists"]),
    (reqs(r("NotIn", "a")), reqs(r("DoesNotExist")), []),  # absent label satisfies both
    (reqs(r("DoesNotExist")), reqs(r("NotIn", "a")), []),
    (reqs(r("DoesNotExist")), reqs(r("DoesNotExist")), []),
    (
        reqs(r("NotIn", "7").intersection(r("Gte", "5"))),
        reqs(r("DoesNotExist")),
        ["key k, k DoesNotExist not in k NotIn [7] Gte 5"],
    ),  # a bound needs the label
    (reqs(r("Gt", "3")), reqs(r("Lt", "2")), ["key k, k Lte 1 not in k Gte 4"]),
    (
        reqs(r("In", "a"), r("In", "1", key="j")),
        reqs(r("In", "b"), r("In", "2", key="j")),
        ["key j, j In [2] not in j In [1]", "key k, k In [b] not in k In [a]"],
    ),
]


@pytest.mark.parametrize("existing, incoming, reasons", INTERSECTS, ids=lambda x: str(x))
def test_intersects(existing: Requirements, incoming: Requirements, reasons: list[str]) -> None:
    problems = existing.check_intersects(incoming)
    assert [str(p) for p in problems] == reasons
    assert existing.is_intersecting(incoming) is (not reasons)
    for problem in problems:
        assert problem.code == "requirement-conflict"
        assert problem.message.startswith(f"key {problem.key},")
        mine, theirs = existing.get(problem.key), incoming.get(problem.key)
        assert problem.detail == f"{problem.key}: the pod needs {theirs}, the pool allows {mine}"


GPU_POOL = Requirements.from_dicts([{"key": GPU_COUNT, "operator": "Gt", "values": ["0"]}]).add(
    Requirements.from_labels({"team": "ml", "karpenter.sh/nodepool": "gpu"})
)

COMPATIBLE = [
    # (pod requirements as dicts, reasons against GPU_POOL)
    ([{"key": "team", "operator": "In", "values": ["ml"]}], []),
    (
        [{"key": "team", "operator": "In", "values": ["web"]}],
        ["key team, team In [web] not in team In [ml]"],
    ),
    (
        [{"key": "owner", "operator": "In", "values": ["x"]}],
        ['label "owner" does not have known values'],
    ),
    ([{"key": "owner", "operator": "Exists"}], ['label "owner" does not have known values']),
    ([{"key": "owner", "operator": "NotIn", "values": ["x"]}], []),  # one-sided exclusion passes
    ([{"key": "owner", "operator": "DoesNotExist"}], []),
    ([{"key": ZONE, "operator": "In", "values": ["us-east-1a"]}], []),  # well-known, undefined
    ([{"key": GPU_COUNT, "operator": "In", "values": ["4"]}], []),
    (
        [{"key": GPU_COUNT, "operator": "In", "values": ["0"]}],
        [f"key {GPU_COUNT}, {GPU_COUNT} In [0] not in {GPU_COUNT} Gte 1"],
    ),
    (
        [{"key": GPU_COUNT, "operator": "DoesNotExist"}],
        [f"key {GPU_COUNT}, {GPU_COUNT} DoesNotExist not in {GPU_COUNT} Gte 1"],
    ),
    (
        [{"key": "instance-gpu-count", "operator": "Gt", "values": ["0"]}],
        [f'label "instance-gpu-count" does not have known values (did you mean "{GPU_COUNT}"?)'],
    ),
    (
        [{"key": "karpenter.k8s.aws/instance-gpu-cuont", "operator": "Gt", "values": ["0"]}],
        [
            'label "karpenter.k8s.aws/instance-gpu-cuont" does not have known values '
            f'(did you mean "{GPU_COUNT}"?)'
        ],
    ),
    (
        [{"key": "tema", "operator": "In", "values": ["ml"]}],
        ['label "tema" does not have known values (did you mean "team"?)'],
    ),
    (
        [{"key": "Team", "operator": "In", "values": ["ml"]}],
        ['label "Team" does not have known values (did you mean "team"?)'],
    ),
]


@pytest.mark.parametrize("pod, reasons", COMPATIBLE, ids=lambda x: str(x))
def test_compatible(pod: list[dict[str, Any]], reasons: list[str]) -> None:
    pod_side = Requirements.from_dicts(pod)
    problems = GPU_POOL.check_compatible(pod_side)
    assert [p.message for p in problems] == reasons
    assert GPU_POOL.is_compatible(pod_side) is (not reasons)
    for problem in problems:  # typed: no caller searches the message for a code
        undefined = problem.message.startswith("label ")
        assert problem.code == ("label-undefined" if undefined else "requirement-conflict")
        assert f'"{problem.key}"' in problem.message or f"key {problem.key}," in problem.message


def test_compatible_is_asymmetric() -> None:
    pool = Requirements.from_labels({"team": "ml"})
    pod = Requirements.from_labels({"owner": "x"})
    assert not pool.is_compatible(pod)  # the pod selects a label the pool never sets
    assert pod.is_compatible(pool) is False
    assert Requirements.from_labels({"owner": "x", "team": "ml"}).is_compatible(pool)
    assert not EMPTY.is_compatible(pool)
    assert pool.is_compatible(EMPTY)


def test_compatible_without_well_known_allowance() -> None:
    node = Requirements.from_labels({"team": "ml"})
    pod = reqs(Requirement.create(ZONE, "In", ["us-east-1a"]))
    assert node.is_compatible(pod)
    expected = [f'label "{ZONE}" does not have known values']
    assert [p.message for p in node.check_compatible(pod, frozenset())] == expected
    assert not node.is_compatible(pod, frozenset())


def test_well_known_labels() -> None:
    for key in (
        "karpenter.sh/nodepool",
        ZONE,
        "topology.kubernetes.io/region",
        "node.kubernetes.io/instance-type",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "karpenter.sh/capacity-type",
        "node.kubernetes.io/windows-build",
        GPU_COUNT,
        "karpenter.k8s.aws/instance-gpu-name",
        "karpenter.k8s.aws/instance-gpu-manufacturer",
        "karpenter.k8s.aws/instance-gpu-memory",
        "karpenter.k8s.aws/instance-local-nvme",
        "karpenter.k8s.aws/instance-accelerator-count",
        "karpenter.k8s.aws/instance-family",
    ):
        assert key in WELL_KNOWN_LABELS
    assert "kubernetes.io/hostname" not in WELL_KNOWN_LABELS


def test_requirements_mapping_behaviour() -> None:
    got = reqs(r("In", "b", key="z"), r("Exists", key="a"))
    assert [req.key for req in got] == ["a", "z"]  # iteration yields requirements, key order
    assert len(got) == 2 and got.keys() == {"a", "z"}
    assert got.get("missing") == Requirement("missing", True, frozenset())
    assert "missing" not in got
    with pytest.raises(KeyError):
        got["missing"]
    assert Requirements(got) == got and hash(Requirements(got)) == hash(got)
    assert str(got) == "a Exists, z In [b]"
    assert got.add() == got and got.add(EMPTY) is got and EMPTY.add(got) is got
    assert got.labels() == {"z": "b"}
    assert reqs(r("In", "a", "b"), r("NotIn", "c", key="j")).labels() == {}
    assert got.to_dicts() == [
        {"key": "a", "operator": "Exists"},
        {"key": "z", "operator": "In", "values": ["b"]},
    ]


def test_add_ands_requirement_and_requirements() -> None:
    base = Requirements.from_labels({"team": "ml"})
    got = base.add(r("In", "1", "2"), reqs(r("In", "2", "3")))
    assert shape(got.get("k")) == ("In", ["2"], None, None)
    assert base.keys() == {"team"}  # immutable


# --- pods ----------------------------------------------------------------------------------


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


def pod(
    selector: dict[str, str] | None = None,
    required: list[list[dict[str, Any]]] | None = None,
    preferred: list[tuple[int, list[dict[str, Any]]]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if selector is not None:
        spec["nodeSelector"] = selector
    node_affinity: dict[str, Any] = {}
    if required is not None:
        node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": [{"matchExpressions": term} for term in required]
        }
    if preferred is not None:
        node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": weight, "preference": {"matchExpressions": term}}
            for weight, term in preferred
        ]
    if node_affinity:
        spec["affinity"] = {"nodeAffinity": node_affinity}
    return spec


def as_text(requirements: Requirements | None) -> str | None:
    return None if requirements is None else str(requirements)


def pod_requirements(
    spec: dict[str, Any], term: int = 0, with_preferred: bool = True
) -> Requirements | None:
    """``nodeSelector`` + required term ``term`` (+ the heaviest preferred term), read from a
    :class:`PodView`; None when the pod has no such term."""
    view = PodView.from_spec(spec)
    if not 0 <= term < len(view.terms):
        return None
    out = view.terms[term]
    return out.add(view.preferred[0][1]) if with_preferred and view.preferred else out


def pod_requirement_variants(spec: dict[str, Any]) -> tuple[Variant, ...]:
    return PodView.from_spec(spec).variants()


GPU_POD = pod(
    selector={"beta.kubernetes.io/arch": "amd64"},
    required=[
        [expr(GPU_COUNT, "Gt", "0"), expr("team", "In", "ml")],
        [expr("karpenter.k8s.aws/instance-gpu-name", "In", "a10g")],
    ],
    preferred=[
        (10, [expr(ZONE, "In", "us-east-1b")]),
        (80, [expr("karpenter.sh/capacity-type", "In", "spot")]),
        (80, [expr("karpenter.sh/capacity-type", "In", "on-demand")]),
    ],
)
ARCH = "kubernetes.io/arch In [amd64]"
SPOT = "karpenter.sh/capacity-type In [spot]"
ONDEMAND = "karpenter.sh/capacity-type In [on-demand]"
TERM0 = f"{GPU_COUNT} Gte 1, {ARCH}, team In [ml]"
TERM1 = f"karpenter.k8s.aws/instance-gpu-name In [a10g], {ARCH}"


def joined(*parts: str) -> str:
    """Requirements print in key order."""
    return ", ".join(sorted(", ".join(parts).split(", ")))


@pytest.mark.parametrize(
    "spec, term, with_preferred, expected",
    [
        (pod(), 0, True, ""),
        (pod(), 1, True, None),
        (pod(selector={"team": "ml", OLD_ZONE: "a"}), 0, True, f"team In [ml], {ZONE} In [a]"),
        (GPU_POD, 0, True, joined(SPOT, TERM0)),  # heaviest, first of equal weights
        (GPU_POD, 0, False, TERM0),
        (GPU_POD, 1, True, joined(SPOT, TERM1)),
        (GPU_POD, 1, False, TERM1),
        (GPU_POD, 2, True, None),
        (GPU_POD, -1, True, None),
        (pod(preferred=[(1, [expr("a", "In", "1")])]), 0, True, "a In [1]"),
        (pod(preferred=[(1, [expr("a", "In", "1")])]), 0, False, ""),
        # nodeSelector and the term AND together
        (pod(selector={"a": "1"}, required=[[expr("a", "In", "2")]]), 0, True, "a DoesNotExist"),
    ],
)
def test_pod_requirements(
    spec: dict[str, Any], term: int, with_preferred: bool, expected: str | None
) -> None:
    assert as_text(pod_requirements(spec, term, with_preferred)) == expected


def test_pod_requirement_variants_follow_karpenters_relaxation_order() -> None:
    got = [(str(reqs_), note) for reqs_, note in pod_requirement_variants(GPU_POD)]
    assert got == [
        (joined(SPOT, TERM0), "required term 0 + preferred term 1 (weight 80)"),
        (joined(SPOT, TERM1), "required term 1 + preferred term 1 (weight 80)"),
        (joined(ONDEMAND, TERM1), "required term 1 + preferred term 2 (weight 80)"),
        (
            joined(TERM1, f"{ZONE} In [us-east-1b]"),
            "required term 1 + preferred term 0 (weight 10)",
        ),
        (TERM1, "required term 1"),
    ]


@pytest.mark.parametrize(
    "spec, expected",
    [
        (pod(), [("", "as written")]),
        (pod(selector={"a": "1"}), [("a In [1]", "as written")]),
        (
            pod(required=[[expr("a", "In", "1")], [expr("a", "In", "1")], [expr("b", "Exists")]]),
            [("a In [1]", "required term 0"), ("b Exists", "required term 2")],  # de-duplicated
        ),
        (
            pod(preferred=[(5, [expr("a", "In", "1")]), (50, [expr("b", "In", "2")])]),
            [
                ("b In [2]", "preferred term 1 (weight 50)"),
                ("a In [1]", "preferred term 0 (weight 5)"),
                ("", "without preferences"),
            ],
        ),
        (
            pod(selector={"a": "1"}, preferred=[(5, [expr("a", "In", "1")])]),
            [("a In [1]", "preferred term 0 (weight 5)")],  # the preference adds nothing
        ),
    ],
)
def test_pod_requirement_variants(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    got = [(str(reqs_), note) for reqs_, note in pod_requirement_variants(spec)]
    assert got == expected
    assert pod_requirement_variants(spec) == pod_requirement_variants(spec)  # cached, stable


def test_pod_requirement_errors_name_the_field() -> None:
    bad = pod(required=[[expr("a", "In", "1")], [expr("b", "Gt", "x")]])
    path = (
        r"spec\.affinity\.nodeAffinity\.requiredDuringSchedulingIgnoredDuringExecution"
        r"\.nodeSelectorTerms\[1\]\.matchExpressions\[0\]\.values: "
    )
    with pytest.raises(ValueError, match=path):
        pod_requirement_variants(bad)
    with pytest.raises(ValueError, match=r"preferredDuringSchedulingIgnoredDuringExecution\[0\]"):
        pod_requirements(pod(preferred=[(1, [expr("a", "Near")])]))
    with pytest.raises(ValueError, match=r"spec\.nodeSelector: must be a mapping"):
        pod_requirements({"nodeSelector": ["a"]})
