"""Run every rule over one ClusterState; say which rules could not run and why.

A rule runs only when the kinds it reads are in the input (a ``kubectl get nodes,pods``
file has no NodeClaims, a cluster without Karpenter has no EC2NodeClasses); otherwise it is
reported as not run, never as a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eks_gpu.diagnose.context import Context
from eks_gpu.diagnose.finding import Diagnosis, RuleId, sort_diagnoses
from eks_gpu.diagnose.rules import (
    device_plugin,
    gpu_nodes,
    karpenter,
    logs,
    pending,
    startup_taints,
    usage,
)
from eks_gpu.diagnose.view import ClusterView, meta, name_of, ref, view_of
from eks_gpu.manifests.cluster_state import KIND_POD_LOG, ClusterState

Check = Callable[[ClusterView, Context], list[Diagnosis]]


@dataclass(frozen=True)
class Rule:
    """One rule: its id, the kinds it reads, and the check; ``also`` are further ids the
    same check emits (one simulator run explains pending pods and the limits behind them)."""

    id: RuleId
    needs: tuple[str, ...]
    check: Check
    needs_plugin_logs: bool = False
    also: tuple[RuleId, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule("device-plugin-missing", ("Node", "Pod", "DaemonSet"), device_plugin.missing),
    Rule(
        "device-plugin-untolerated-taint",
        ("Node", "Pod", "DaemonSet"),
        device_plugin.untolerated_taint,
    ),
    Rule("device-plugin-not-ready", ("Node", "Pod", "DaemonSet"), device_plugin.not_ready),
    Rule(
        "device-plugin-nvml-failure",
        ("Node", "Pod", "DaemonSet"),
        logs.nvml_failure,
        needs_plugin_logs=True,
    ),
    Rule(
        "device-plugin-waiting", ("Node", "Pod", "DaemonSet"), logs.waiting, needs_plugin_logs=True
    ),
    Rule("duplicate-device-plugin", ("Node", "Pod", "DaemonSet"), device_plugin.duplicate),
    Rule("gpu-not-registered", ("Node",), gpu_nodes.not_registered),
    Rule("gpu-unhealthy", ("Node",), gpu_nodes.unhealthy),
    Rule("nodeclaim-launch-failed", ("NodeClaim", "Event"), karpenter.launch_failed),
    Rule("nodeclass-not-ready", ("EC2NodeClass",), karpenter.nodeclass_not_ready),
    Rule("isolation-violated", ("Node", "Pod"), usage.isolation_violated),
    Rule("idle-gpus", ("Node", "Pod"), usage.idle_gpus),
    Rule(
        "pending-gpu-pod",
        ("Node", "Pod", "DaemonSet", "NodePool", "EC2NodeClass"),
        pending.pending_gpu_pods,
        also=("nodepool-gpu-limit-reached",),
    ),
    Rule(
        "startup-taint-undeclared",
        ("Node", "Pod", "NodePool"),
        startup_taints.startup_taint_undeclared,
    ),
    Rule("cuda-not-ready", (), logs.cuda_not_ready),
)


@dataclass(frozen=True)
class Report:
    """What the rules found, what was looked at, and the rules that could not run."""

    diagnoses: tuple[Diagnosis, ...]
    checked: dict[str, int]
    not_run: tuple[tuple[RuleId, str], ...]


def _missing_plugin_logs(view: ClusterView) -> list[str]:
    """Plugin pods on GPU nodes whose log tail is not in the input, with why when known
    (a dump records unreadable logs under ``missing`` as ``PodLog/NAMESPACE/POD``)."""
    out = []
    for node in view.gpu_nodes:
        for pod in view.plugin_pods_on(name_of(node)):
            if view.logs_of(pod):
                continue
            key = f"{KIND_POD_LOG}/{meta(pod).get('namespace')}/{name_of(pod)}"
            why = view.state.missing.get(key)
            out.append(f"{ref(pod)} ({why})" if why else ref(pod))
    return out


def _why_not(rule: Rule, state: ClusterState, no_logs: Sequence[str]) -> str | None:
    absent = [kind for kind in rule.needs if not state.knows(kind)]
    if absent:
        reasons = [f"{k}: {state.missing[k]}" if k in state.missing else k for k in absent]
        return "not in the input: " + "; ".join(reasons)
    if rule.needs_plugin_logs and no_logs:
        return f"no log tail for {len(no_logs)} device plugin pod(s): {', '.join(no_logs[:3])}"
    return None


def diagnose(state: ClusterState, ctx: Context, rules: Sequence[Rule] = RULES) -> Report:
    """Every diagnosis of ``state``, worst first; rules whose input is absent are not run."""
    view = view_of(state)
    no_logs = _missing_plugin_logs(view)
    found: list[Diagnosis] = []
    not_run: list[tuple[RuleId, str]] = []
    for rule in rules:
        why = _why_not(rule, state, no_logs)
        if why is None:
            try:
                found.extend(rule.check(view, ctx))
                continue
            except pending.NotRun as error:
                why = error.message
        not_run.extend((rule_id, why) for rule_id in (rule.id, *rule.also))
    checked = {
        "nodes": len(view.nodes),
        "pods": len(state.of("Pod")),
        "nodepools": len(state.of("NodePool")),
    }
    return Report(tuple(sort_diagnoses(found)), checked, tuple(not_run))


__all__ = ["RULES", "Report", "Rule", "diagnose"]
