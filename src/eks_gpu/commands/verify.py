"""``verify``: the guide's checks and test pods against the live cluster, judged.

Composes the config (which pool, what its nodes must carry), the render (the test objects
the guide applies by hand) and :mod:`eks_gpu.verify.run` (the cluster I/O), and returns a
result whose exit code is 0 only when every selected step passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.cluster_source import ClusterSource, connect
from eks_gpu.commands.config_source import RenderSource, cluster_name_or_example, resolve_config
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:
    from eks_gpu.verify.steps import StepResult

KIND = "VerifyReport"
MIN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class VerifyResult:
    """Each selected step's result, the run's namespace and what cleanup did."""

    context: str
    pool: str
    steps: tuple[StepResult, ...]
    namespace: str
    cleanup: str
    leftovers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(step.passed for step in self.steps)

    @property
    def messages(self) -> tuple[str, ...]:
        return ()

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FINDINGS

    def to_json(self) -> dict[str, Any]:
        return envelope(
            KIND,
            {
                "context": self.context,
                "nodePool": self.pool,
                "ok": self.ok,
                "steps": [step.as_json() for step in self.steps],
                "namespace": self.namespace or None,
                "cleanup": self.cleanup,
                "removedLeftovers": list(self.leftovers),
            },
        )


def _rendered_for_tests(render: RenderSource) -> tuple[list[dict[str, Any]], str]:
    """Everything ``render`` makes, with the test objects even when the config disables them
    (they are what ``verify`` runs), and the pool under test."""
    from eks_gpu.render.bundle import render_all

    loaded = resolve_config(render.config_path, render.profile)
    config = loaded.config
    tests = config.tests.model_copy(update={"enabled": True})
    config = config.model_copy(update={"tests": tests})
    name = cluster_name_or_example(config, render.cluster_name)
    return [item.obj for item in render_all(config, name)], config.test_pool().name


def verify(
    render: RenderSource,
    cluster: ClusterSource,
    *,
    only: Sequence[str] = (),
    timeout_s: float = 1200.0,
    stall_after_s: float = 120.0,
    keep: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> VerifyResult:
    """Run the selected steps; ``say`` gets the live progress lines."""
    from eks_gpu.verify.plan import plan_of
    from eks_gpu.verify.run import Options, Verifier
    from eks_gpu.verify.steps import parse_only

    steps = parse_only(only)
    if timeout_s < MIN_TIMEOUT_S:
        raise UsageError(f"--timeout {timeout_s:g}s is too short", hint="allow at least 10s")
    rendered, pool = _rendered_for_tests(render)
    plan = plan_of(rendered, pool)
    options = Options(steps, timeout_s=timeout_s, stall_after_s=stall_after_s, keep=keep)
    client = connect(cluster)
    try:
        verifier = Verifier(client, plan, options, say)
        outcome = verifier.run()
    finally:
        client.close()
    return VerifyResult(
        client.context,
        pool,
        tuple(outcome.steps),
        outcome.namespace,
        outcome.cleanup,
        tuple(outcome.leftovers),
    )


__all__ = ["KIND", "VerifyResult", "verify"]
