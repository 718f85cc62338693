"""A simulation as text: NodeClaims, unschedulable pods, existing placements, cost and
assumptions. Shared by ``simulate`` and ``plan``, which print the same section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eks_gpu.cli.output import plural
from eks_gpu.cli.table import format_table

if TYPE_CHECKING:
    from eks_gpu.commands.simulate import SimulationResult

CLAIM_HEADERS = ("NODEPOOL", "INSTANCE TYPE", "CAPACITY", "ZONE", "$/H", "PODS")


def _with_rounds(claims: list[dict[str, Any]], rows: list[list[str | None]]) -> str:
    """The NodeClaims table; a ROUND column (and what held them) once a pass is delayed."""
    if all(c.get("round", 1) == 1 for c in claims):
        return format_table(CLAIM_HEADERS, rows)
    for row, claim in zip(rows, claims, strict=True):
        row.insert(0, str(claim["round"]) + (f" ({claim['held_by']})" if claim["held_by"] else ""))
    note = (
        "NodeClaims of a later ROUND wait for a later Karpenter provisioning pass: each new "
        "NodeClaim is charged its largest candidate type against the NodePool limits until it "
        "launches (in brackets: the limit that held it back)\n"
    )
    return format_table(("ROUND", *CLAIM_HEADERS), rows) + note


def simulation_text(result: SimulationResult) -> str:
    """The NodeClaims table (or "No new NodeClaims."), then the rest, one section each."""
    doc = result.document
    out = []
    if doc["nodeclaims"]:
        rows = [
            [c["nodepool"], c["instance_type"], c["capacity_type"], c["zone"],
             None if c["price_per_hour"] is None else f"{c['price_per_hour']:.3f}",
             ", ".join(c["pods"])]
            for c in doc["nodeclaims"]
        ]  # fmt: skip
        out.append(_with_rounds(doc["nodeclaims"], rows))
    else:
        out.append("No new NodeClaims.\n")
    for node in doc["existing"]:
        out.append(f"existing node {node['node']}: {', '.join(node['pods'])}\n")
    if doc["unschedulable"]:
        rows = [
            [u["pod"], r["nodepool"], r["code"], r["message"]]
            for u in doc["unschedulable"]
            for r in u["reasons"]
        ]
        out.append("\nUnschedulable:\n")
        out.append(format_table(("POD", "NODEPOOL", "CODE", "WHY"), rows))
    out.append(_cost_line(doc))
    out.append("Assumptions:\n" + "".join(f"  - {a}\n" for a in doc["assumptions"]))
    return "".join(out)


def _cost_line(doc: Mapping[str, Any]) -> str:
    """The cost, never a bare ``$0.000/h`` that hides NodeClaims whose price is unknown."""
    claims = doc["nodeclaims"]
    unpriced = sum(1 for c in claims if c["price_per_hour"] is None)
    if not unpriced:
        return f"\nCost: ${doc['cost_per_hour']:.3f}/h for {plural(len(claims), 'NodeClaim')}\n"
    if unpriced == len(claims):
        return (
            f"\nCost: unknown: no NodeClaim has a known price ({unpriced} spot without a price)\n"
        )
    priced = plural(len(claims) - unpriced, "NodeClaim")
    return (
        f"\nCost: ${doc['cost_per_hour']:.3f}/h for the {priced}"
        f" with a known price; {unpriced} without a price (spot unknown: see the assumptions)\n"
    )


__all__ = ["simulation_text"]
