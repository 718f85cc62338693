"""Properties of the requirement algebra (hypothesis).

The semantics under test (see the module docstring of ``scheduling/requirements.py``): a
requirement is a set of strings; integers are read as Go's ``Atoi`` does, leading zeros
included, so every non-empty integer range has infinitely many spellings. Under that
reading ``has_intersection`` is exact (true iff some value satisfies both sides, shown by a
witness) and equals ``not intersection(...).allows_nothing()`` for **every** pair, two
complements included: two complements intersect unless their bounds cross.
"""

from __future__ import annotations

import dataclasses
import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from eks_gpu.scheduling.requirement import MAX_INT, MIN_INT, OPERATORS, Requirement
from eks_gpu.scheduling.requirements import Requirements

VALUES = ["a", "b", "x", "", "0", "1", "3", "5", "05", "005", "-2", "-02", "+5", "7", "10"]
VALUES += ["9223372036854775807", "9223372036854775808"]
# Values to compare semantics on: the ones requirements mention, plus neighbours.
SAMPLE = sorted(
    set(VALUES)
    | {str(i) for i in range(-6, 13)}
    | {f"0{i}" for i in range(12)}
    | {"y", "a0", "a1", "-0", "00"}
    | {str(n) for n in (MAX_INT, MAX_INT - 1, MIN_INT, MIN_INT + 1)}
    | {f"0{MAX_INT}", f"-0{-MIN_INT}"}
)
BOUNDS = st.integers(-3, 10) | st.sampled_from([MAX_INT, MAX_INT - 1, MIN_INT, MIN_INT + 1])
PROPERTY = settings(max_examples=200, deadline=None)


@st.composite
def simple(draw: st.DrawFn, key: str = "k") -> Requirement:
    operator = draw(st.sampled_from(OPERATORS))
    values: list[str] = []
    if operator in ("In", "NotIn"):
        values = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=4))
    elif operator not in ("Exists", "DoesNotExist"):
        values = [str(draw(BOUNDS))]
    min_values = draw(st.none() | st.integers(1, 3))
    if operator == "In" and min_values is not None and min_values > len(set(values)):
        min_values = None
    return Requirement.create(key, operator, values, min_values)


def requirement(key: str = "k") -> st.SearchStrategy[Requirement]:
    """A created requirement, or the intersection of two (NotIn + bounds, ranges, …)."""
    return simple(key) | st.builds(Requirement.intersection, simple(key), simple(key))


def allowed(req: Requirement) -> set[str]:
    return {v for v in SAMPLE if req.has(v)}


@PROPERTY
@given(requirement(), requirement())
def test_intersection_is_commutative(a: Requirement, b: Requirement) -> None:
    assert a.intersection(b) == b.intersection(a)
    assert allowed(a.intersection(b)) == allowed(b.intersection(a))


@PROPERTY
@given(requirement(), requirement())
def test_intersection_allows_exactly_what_both_allow(a: Requirement, b: Requirement) -> None:
    both = a.intersection(b)
    assert allowed(both) == allowed(a) & allowed(b)
    assert both.min_values == max(
        (m for m in (a.min_values, b.min_values) if m is not None), default=None
    )


@PROPERTY
@given(requirement(), requirement())
def test_has_intersection_is_not_intersection_allows_nothing(
    a: Requirement, b: Requirement
) -> None:
    # Holds for every pair, two complements included (they intersect unless bounds cross).
    assert a.has_intersection(b) == (not a.intersection(b).allows_nothing())
    assert a.has_intersection(b) == b.has_intersection(a)


@PROPERTY
@given(requirement(), requirement())
def test_two_complements_intersect_unless_bounds_cross(a: Requirement, b: Requirement) -> None:
    assume(a.complement and b.complement)
    low = max((n for n in (a.gte, b.gte) if n is not None), default=None)
    high = min((n for n in (a.lte, b.lte) if n is not None), default=None)
    crossed = low is not None and high is not None and low > high
    assert a.has_intersection(b) is not crossed


@PROPERTY
@given(requirement(), requirement())
def test_has_intersection_is_exact(a: Requirement, b: Requirement) -> None:
    """True iff some value satisfies both: a witness when true, none in the sample when not."""
    if a.has_intersection(b):
        witness = a.intersection(b).any_value()
        assert witness is not None
        assert a.has(witness) and b.has(witness)
    else:
        assert not allowed(a) & allowed(b)


@PROPERTY
@given(requirement())
def test_intersection_is_idempotent(a: Requirement) -> None:
    copy = dataclasses.replace(a)  # equal, not identical: takes the full path
    assert a.intersection(copy) == a
    assert a.intersection(a) == a


@PROPERTY
@given(requirement(), requirement(), requirement())
def test_intersection_is_associative(a: Requirement, b: Requirement, c: Requirement) -> None:
    left, right = a.intersection(b).intersection(c), a.intersection(b.intersection(c))
    assert allowed(left) == allowed(right)
    assert left.allows_nothing() == right.allows_nothing()
    assert left == right


@PROPERTY
@given(requirement())
def test_any_value_is_allowed(a: Requirement) -> None:
    value = a.any_value()
    assert (value is None) == a.allows_nothing()
    if value is not None:
        assert a.has(value)


@PROPERTY
@given(requirement())
def test_to_dicts_round_trips(a: Requirement) -> None:
    assume(not (a.operator == "In" and (a.min_values or 0) > len(a.values)))
    assert Requirements.from_dicts(a.to_dicts()) == Requirements([a])


@PROPERTY
@given(st.lists(requirement("k") | requirement("j") | requirement("i"), max_size=5), st.randoms())
def test_requirements_add_is_order_independent(
    items: list[Requirement], rnd: random.Random
) -> None:
    expected = Requirements(items)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert Requirements(shuffled) == expected
    one_by_one = Requirements()
    for item in reversed(items):
        one_by_one = one_by_one.add(item)
    assert one_by_one == expected
    half = len(items) // 2
    assert Requirements(items[half:]).add(Requirements(items[:half])) == expected


@PROPERTY
@given(
    st.lists(requirement("k") | requirement("j"), max_size=3),
    st.lists(requirement("k") | requirement("j"), max_size=3),
)
def test_collection_checks_agree(mine: list[Requirement], theirs: list[Requirement]) -> None:
    a, b = Requirements(mine), Requirements(theirs)
    assert a.is_intersecting(b) == (not a.check_intersects(b)) == b.is_intersecting(a)
    assert a.is_compatible(b) == (not a.check_compatible(b))
    for problem in a.check_intersects(b):
        assert problem.code == "requirement-conflict"
        assert not a.get(problem.key).has_intersection(b.get(problem.key))
