"""Run the ladder against a live cluster: the only module of ``verify/`` that does I/O.

Reads are plain GETs and LISTs through :class:`eks_gpu.cluster.client.Client`; the test
objects are created with server-side apply (field manager ``eks-gpu``) and removed by
deleting the run's namespace, which the namespace controller empties. Cleanup runs on
success, failure, timeout and Ctrl-C (``finally``), unless ``keep``; a second Ctrl-C during
cleanup stops it and says what is left.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eks_gpu.cluster.apply import Resolver, delete, fetch, server_side_apply
from eks_gpu.cluster.client import Client
from eks_gpu.cluster.reader import object_path
from eks_gpu.errors import ClusterAccessError, NotFoundError
from eks_gpu.manifests.cluster_state import is_device_plugin, parse_time, short_age
from eks_gpu.names import (
    ANNOTATION_VERIFY_EXPIRES,
    API_VERSION_APPS,
    API_VERSION_EC2NODECLASS,
    API_VERSION_NODEPOOL,
    LABEL_NODEPOOL,
    LABEL_VERIFY_RUN,
)
from eks_gpu.verify import checks, judge, progress
from eks_gpu.verify.plan import Plan, container_of, run_namespace, run_objects
from eks_gpu.verify.steps import POD_STEPS, StepResult, failed, not_run

if TYPE_CHECKING:
    from eks_gpu.diagnose.engine import Report

Obj = dict[str, Any]
Say = Callable[[str], None]
CLEANUP_WAIT_S = 60.0
SETTLE_S = 60.0
DIAGNOSES_SHOWN = 4


@dataclass(frozen=True)
class Options:
    """What to run and how long to wait."""

    steps: tuple[str, ...]
    timeout_s: float = 1200.0
    stall_after_s: float = 120.0
    keep: bool = False
    poll_s: float = 2.0


@dataclass
class Outcome:
    """Each step's result, the run's namespace and what happened to it."""

    steps: list[StepResult] = field(default_factory=list)
    namespace: str = ""
    cleanup: str = "nothing to clean up"
    leftovers: list[str] = field(default_factory=list)


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Verifier:
    """One run: ``run()`` returns an :class:`Outcome`; re-raises KeyboardInterrupt after
    cleaning up (the outcome so far is on ``self.outcome``)."""

    def __init__(self, client: Client, plan: Plan, options: Options, say: Say) -> None:
        self.client = client
        self.plan = plan
        self.options = options
        self.say = say
        self.resolver = Resolver(client)
        self.run_id = secrets.token_hex(3)
        self.outcome = Outcome()
        self._created = False
        self._doctor_report: tuple[float, Report] | None = None

    # ------------------------------------------------------------------ reads

    def _pool_nodes(self) -> list[Obj]:
        return self.client.list(
            "/api/v1/nodes", {"labelSelector": f"{LABEL_NODEPOOL}={self.plan.pool}"}
        )

    def _pool_claims(self) -> list[Obj]:
        path = f"/apis/{API_VERSION_NODEPOOL}/nodeclaims"
        return self.client.list(path, {"labelSelector": f"{LABEL_NODEPOOL}={self.plan.pool}"})

    def check_objects(self) -> StepResult:
        """NodePool and EC2NodeClass Ready; while a controller is still reconciling one (Ready
        absent or Unknown, as right after ``apply``), wait up to :data:`SETTLE_S` for it."""
        deadline = time.monotonic() + min(SETTLE_S, self.options.timeout_s)
        told = False
        while True:
            pool = fetch(
                self.client, object_path(API_VERSION_NODEPOOL, "nodepools", self.plan.pool)
            )
            nodeclass = fetch(
                self.client,
                object_path(API_VERSION_EC2NODECLASS, "ec2nodeclasses", self.plan.nodeclass),
            )
            result = checks.check_objects(self.plan.pool, pool, self.plan.nodeclass, nodeclass)
            unsettled = checks.settling(pool) or checks.settling(nodeclass)
            if result.passed or not unsettled or time.monotonic() >= deadline:
                return result
            if not told:
                self.say(f"waiting for Karpenter to reconcile: {result.summary}")
                told = True
            time.sleep(self.options.poll_s)

    def check_device_plugin(self, nodes: Sequence[Obj]) -> StepResult:
        daemonsets = self.client.list(f"/apis/{API_VERSION_APPS}/daemonsets")
        plugins = [ds for ds in daemonsets if is_device_plugin(ds)]
        pods: list[Obj] = []
        for namespace in sorted({str(ds["metadata"].get("namespace")) for ds in plugins}):
            pods += self.client.list(f"/api/v1/namespaces/{namespace}/pods")
        return checks.check_device_plugin(plugins, pods, nodes)

    def check_nodes(self, nodes: Sequence[Obj]) -> StepResult:
        return checks.check_nodes(self.plan.pool, nodes, self.plan.labels, self.plan.taints)

    # ------------------------------------------------------------------ leftovers

    def remove_leftovers(self) -> None:
        """Delete namespaces of earlier runs whose expiry passed; name the live ones."""
        found = self.client.list("/api/v1/namespaces", {"labelSelector": LABEL_VERIFY_RUN})
        now = _utc_now()
        for ns in found:
            name = str(ns["metadata"]["name"])
            if ns["metadata"].get("deletionTimestamp"):
                continue
            expires = parse_time(
                (ns["metadata"].get("annotations") or {}).get(ANNOTATION_VERIFY_EXPIRES)
            )
            if expires is not None and expires > now:
                self.say(
                    f"note: namespace {name} belongs to a verify run still in time; left alone"
                )
                continue
            delete(self.client, f"/api/v1/namespaces/{name}")
            self.outcome.leftovers.append(name)
            self.say(f"removed namespace {name}, left by an interrupted verify run")

    # ------------------------------------------------------------------ the ladder

    def run(self) -> Outcome:
        """Every selected step in order; a failed prerequisite leaves later steps not run.
        Only a run with test pods writes anything (and removes earlier runs' leftovers), so
        ``--only objects,device-plugin,nodes`` needs read access alone."""
        steps = self.options.steps
        done: dict[str, StepResult] = {}
        pod_steps = [s for s in steps if s in POD_STEPS]
        try:
            if pod_steps:
                self.remove_leftovers()
            blocker = self._prerequisites(steps, done)
            if pod_steps and blocker:
                for step in pod_steps:
                    done[step] = not_run(step, f"{blocker} failed: fix it first")
            elif pod_steps:
                done.update(self._run_pods(pod_steps))
                self._recheck(steps, done)
        finally:
            self.outcome.steps = [done.get(s) or not_run(s, "interrupted") for s in steps]
            self._cleanup()
        return self.outcome

    def _prerequisites(self, steps: Sequence[str], done: dict[str, StepResult]) -> str:
        """Steps 1-3; returns the first failed one's name ("" when none failed)."""
        blocker = ""
        if "objects" in steps:
            done["objects"] = self._report(self.check_objects())
            blocker = "" if done["objects"].passed else "objects"
        nodes = self._pool_nodes() if {"device-plugin", "nodes"} & set(steps) else []
        for step, check in (
            ("device-plugin", self.check_device_plugin),
            ("nodes", self.check_nodes),
        ):
            if step not in steps:
                continue
            if blocker:
                done[step] = not_run(step, f"{blocker} failed: fix it first")
                continue
            done[step] = self._report(check(nodes))
            blocker = blocker or ("" if done[step].passed else step)
        return blocker

    def _recheck(self, steps: Sequence[str], done: dict[str, StepResult]) -> None:
        """Steps 2 and 3 again over the nodes the test pods brought up (a pool scaled to
        zero had none to check the first time)."""
        nodes = self._pool_nodes()
        for step, check in (
            ("device-plugin", self.check_device_plugin),
            ("nodes", self.check_nodes),
        ):
            if step in steps and done[step].passed:
                done[step] = self._report(check(nodes), again=True)

    def _report(self, result: StepResult, again: bool = False) -> StepResult:
        mark = {"passed": "ok", "failed": "FAIL", "not-run": "skip"}[result.status]
        self.say(
            f"{mark:4} {result.step}: {result.summary}"
            + (" (after the test pods)" if again else "")
        )
        return result

    # ------------------------------------------------------------------ test pods

    def _create(self, pod_steps: Sequence[str]) -> datetime.datetime:
        """Create the run's objects; returns the namespace's creation time (server clock)."""
        expires = _utc_now() + datetime.timedelta(seconds=self.options.timeout_s + CLEANUP_WAIT_S)
        objects = run_objects(self.plan, self.run_id, pod_steps, expires)
        self.outcome.namespace = run_namespace(self.plan, self.run_id)
        self._created = True
        created = _utc_now()
        for obj in objects:
            live = server_side_apply(self.client, self.resolver.path(obj), obj)
            if obj.get("kind") == "Namespace":
                created = parse_time(live.get("metadata", {}).get("creationTimestamp")) or created
        self.say(f"created namespace {self.outcome.namespace} with {len(pod_steps)} test pod(s)")
        return created

    def _run_pods(self, pod_steps: Sequence[str]) -> dict[str, StepResult]:
        """Create the pods, then poll until each has a result: judged once it ended, or
        failed with doctor's reasons when it stalls or ``timeout`` passes."""
        since = self._create(pod_steps)
        results: dict[str, StepResult] = {}
        start = time.monotonic()
        shown = ""
        while True:
            elapsed = time.monotonic() - start
            pods, claims = self._observe(pod_steps, since)
            waiting = {s: pods.get(s) for s in pod_steps if s not in results}
            line = progress.progress_line({s: p for s, p in waiting.items() if p}, claims)
            if line != shown:
                self.say(f"[{short_age(elapsed)}] {line}")
                shown = line
            for step, pod in waiting.items():
                outcome = self._settle(step, pod, claims, elapsed)
                if outcome is not None:
                    results[step] = self._report(outcome)
            if len(results) == len(pod_steps):
                return results
            if elapsed >= self.options.timeout_s:
                why = f"no result after {short_age(elapsed)} (--timeout)"
                for step in pod_steps:
                    if step not in results:
                        results[step] = self._report(self._stalled(step, pods.get(step), why))
                return results
            time.sleep(self.options.poll_s)

    def _observe(
        self, pod_steps: Sequence[str], since: datetime.datetime
    ) -> tuple[dict[str, Obj], list[Obj]]:
        """The run's pods by step, and the pool's NodeClaims made since the run began."""
        names = {self.plan.pods[s]["metadata"]["name"]: s for s in pod_steps}
        live = self.client.list(f"/api/v1/namespaces/{self.outcome.namespace}/pods")
        pods = {names[p["metadata"]["name"]]: p for p in live if p["metadata"]["name"] in names}
        return pods, progress.new_claims(self._pool_claims(), since)

    def _settle(
        self, step: str, pod: Obj | None, claims: Sequence[Obj], elapsed: float
    ) -> StepResult | None:
        """The step's result when its pod is done with (ended, stuck or gone), else None."""
        if pod is None:
            return failed(step, "its pod is gone: someone deleted it during the run")
        if progress.is_terminal(pod):
            return self._judge(step, pod)
        stuck = progress.stall_reason(pod, claims, elapsed, self.options.stall_after_s)
        return self._stalled(step, pod, stuck) if stuck else None

    def _judge(self, step: str, pod: Obj) -> StepResult:
        meta = pod["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/log"
        try:
            text = self.client.text(path, container=container_of(pod))
        except ClusterAccessError as error:
            return failed(
                step, f"its log could not be read: {error.message}", [progress.exit_status(pod)]
            )
        result = judge.judge(step, text)
        status = progress.exit_status(pod)
        if progress.phase(pod) == "Failed" and result.passed:
            return failed(
                step, f"the pod failed ({status}) although its output passed", result.details
            )
        if status and not result.passed:
            return StepResult(
                result.step,
                result.status,
                result.summary,
                (*result.details, f"container {status}"),
                result.figures,
            )
        return result

    def _stalled(self, step: str, pod: Mapping[str, Any] | None, why: str) -> StepResult:
        """A stuck pod's step fails with what the ``doctor`` rules say about it."""
        details = [why, *self._diagnoses_for(pod)]
        return failed(step, f"{progress.describe_pod(step, pod) if pod else step}: {why}", details)

    def _doctor(self) -> Report | str:
        """The doctor rules over the cluster as it is now (one read per poll at most, so
        several pods stalling together cost one snapshot); a read error as text."""
        from eks_gpu.cluster.snapshot import read_state
        from eks_gpu.diagnose.context import Context
        from eks_gpu.diagnose.engine import diagnose

        now = time.monotonic()
        if self._doctor_report is not None and now - self._doctor_report[0] < self.options.poll_s:
            return self._doctor_report[1]
        try:
            state = read_state(self.client)
        except ClusterAccessError as error:
            return f"doctor could not read the cluster: {error.message}"
        report = diagnose(state, Context(now=_utc_now()))
        self._doctor_report = (now, report)
        return report

    def _diagnoses_for(self, pod: Mapping[str, Any] | None) -> list[str]:
        """What doctor says about the pod, then its errors elsewhere (a NodePool limit, a
        NodeClass not ready), at most :data:`DIAGNOSES_SHOWN`."""
        from eks_gpu.diagnose.view import ref

        report = self._doctor()
        if isinstance(report, str):
            return [report]
        subject = ref(pod) if pod else ""
        about = [d for d in report.diagnoses if d.subject == subject]
        errors = [d for d in report.diagnoses if d.severity == "error" and d not in about]
        lines = []
        for d in [*about, *errors][:DIAGNOSES_SHOWN]:
            lines.append(f"doctor: {d.id} ({d.subject}): {d.summary}")
            lines += [f"  {e}" for e in d.evidence[:3]]
            lines.append(f"  fix: {d.fix}")
        return lines or ["doctor found nothing about it"]

    # ------------------------------------------------------------------ cleanup

    def _cleanup(self) -> None:
        if not self._created:
            return
        namespace = self.outcome.namespace
        if self.options.keep:
            self.outcome.cleanup = (
                f"kept namespace {namespace} (--keep): `kubectl delete namespace {namespace}`"
            )
            return
        try:
            delete(self.client, f"/api/v1/namespaces/{namespace}")
            self.say(f"cleaning up: deleting namespace {namespace}")
            self.outcome.cleanup = self._wait_gone(namespace)
        except NotFoundError:
            self.outcome.cleanup = f"deleted namespace {namespace}"
        except KeyboardInterrupt:
            self.outcome.cleanup = f"cleanup interrupted: `kubectl delete namespace {namespace}`"
        except ClusterAccessError as error:
            self.outcome.cleanup = f"could not delete namespace {namespace}: {error.message}"

    def _wait_gone(self, namespace: str) -> str:
        deadline = time.monotonic() + CLEANUP_WAIT_S
        while time.monotonic() < deadline:
            if fetch(self.client, f"/api/v1/namespaces/{namespace}") is None:
                return f"deleted namespace {namespace}"
            time.sleep(self.options.poll_s)
        return f"namespace {namespace} is terminating (its pods are stopping)"


__all__ = ["Options", "Outcome", "Verifier"]
