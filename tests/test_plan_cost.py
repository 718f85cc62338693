"""``plan``'s cost line: exact when every price is known, else the on-demand ceiling with spot
called unknown (never ``$0.000/h`` for NodeClaims whose spot price nobody knows)."""

from __future__ import annotations

from typing import Any

from eks_gpu.commands.plan import plan_cost


def claim(instance_type: str, capacity_type: str, price: float | None) -> dict[str, Any]:
    return {"instance_type": instance_type, "capacity_type": capacity_type,
            "price_per_hour": price}  # fmt: skip


ON_DEMAND = {"g5.xlarge": 1.006, "g6.xlarge": 0.805}


def test_unknown_spot_prices_show_the_on_demand_ceiling() -> None:
    cost = plan_cost([claim("g5.xlarge", "spot", None), claim("g6.xlarge", "on-demand", 0.805)],
                     ON_DEMAND)  # fmt: skip
    assert (cost.known, cost.unpriced, cost.claims) == (0.805, 1, 2)
    assert cost.ceiling is not None and abs(cost.ceiling - 1.811) < 1e-9
    line = cost.line()
    assert line.startswith("Cost: at most $1.811/h") and "spot prices unknown for 1 of 2" in line
    assert "$0.000" not in line


def test_known_prices_give_the_exact_cost_and_spot_is_capped_by_on_demand() -> None:
    cost = plan_cost([claim("g5.xlarge", "spot", 0.4)], ON_DEMAND)
    assert cost.line() == "Cost: $0.400/h for 1 NodeClaim(s)"
    assert cost.ceiling == 1.006


def test_a_type_without_any_price_makes_the_ceiling_unknown() -> None:
    cost = plan_cost([claim("p3.2xlarge", "spot", None)], ON_DEMAND)
    assert cost.ceiling is None
    assert "unknown (some types have no on-demand price either)" in cost.line()


def test_plan_leads_with_the_cost(run_cli: Any) -> None:
    result = run_cli("plan", "--cluster-name", "demo")
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("Cost: at most $") and "spot prices unknown" in first


def test_plan_reads_the_price_book_once(monkeypatch: Any) -> None:
    """The simulation and the cost ceiling share one read of the region's prices."""
    import eks_gpu.loaders.price_cache as price_cache
    from eks_gpu.commands.plan import plan

    reads: list[str | None] = []
    real = price_cache.load_price_book

    def counting(region: str | None = None) -> Any:
        reads.append(region)
        return real(region)

    monkeypatch.setattr(price_cache, "load_price_book", counting)
    result = plan()
    assert reads == [None]
    assert result.cost.claims >= 1
