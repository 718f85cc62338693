"""``eks-gpu doctor``: flags -> :func:`eks_gpu.commands.doctor.doctor` -> grouped text/JSON."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import cluster_options, comma_list, duration_seconds, from_option

if TYPE_CHECKING:
    from eks_gpu.commands.doctor import DoctorResult

SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "blue"}


def text(result: DoctorResult) -> str:
    """Diagnoses grouped by subject, worst first, each with evidence and fix."""
    from eks_gpu.cli.output import paint, plural

    checked = result.report.checked
    scope = ", ".join(
        plural(checked[key], noun)
        for key, noun in (("nodes", "node"), ("pods", "pod"), ("nodepools", "NodePool"))
    )
    if not result.diagnoses:
        return f"no problems found ({scope} checked)\n"
    groups: dict[str, list[str]] = {}
    for d in result.diagnoses:
        label = paint(d.severity.upper(), SEVERITY_COLOURS[d.severity])
        lines = [f"  {label} {d.id}: {d.summary}"]
        lines += [f"      {line}" for line in d.evidence]
        lines.append(f"      fix: {d.fix}")
        groups.setdefault(d.subject, []).extend(lines)
    out = [line for subject, lines in groups.items() for line in (subject, *lines)]
    counts = {s: sum(1 for d in result.diagnoses if d.severity == s) for s in SEVERITY_COLOURS}
    summary = ", ".join(f"{n} info" if s == "info" else plural(n, s) for s, n in counts.items())
    return "\n".join(out) + f"\n\n{summary} ({scope} checked)\n"


@click.command()
@from_option
@cluster_options()
@click.option(
    "--severity",
    type=click.Choice(("error", "warning", "info")),
    default="info",
    show_default=True,
    help="Show diagnoses of this severity and worse.",
)
@click.option(
    "--skip",
    multiple=True,
    metavar="RULE[,RULE]",
    help="Rules to leave out (their missing input is then accepted, not reported).",
)
@click.option(
    "--idle-after",
    default="30m",
    show_default=True,
    help="A GPU node without GPU pods for this long is idle (s, m, h, d).",
)
@click.option(
    "--region", help="Prices of this region (default: the nodes' region, from their labels)."
)
@click.option(
    "-o", "--output", type=click.Choice(("text", "json")), default="text", show_default=True
)
def doctor(
    from_path: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    severity: str,
    skip: tuple[str, ...],
    idle_after: str,
    region: str | None,
    output: str,
) -> int:
    """Diagnose GPU capacity: device plugin, GPU nodes, NodeClaims, pending GPU pods, idle GPUs.

    Reads the live cluster, or a dump with --from (from a user who cannot give you access).
    Exit 0 when there is no error diagnosis and every rule ran, 1 otherwise.

    \b
    Examples:
      eks-gpu doctor
      eks-gpu doctor --from dump.json -o json
      kubectl get nodes,pods,daemonsets -A -o yaml | eks-gpu doctor --from - --skip \\
        nodeclaim-launch-failed,nodeclass-not-ready
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.cluster_source import ClusterSource
    from eks_gpu.commands.doctor import doctor as run

    result = run(
        ClusterSource(from_path, kubeconfig, kube_context),
        severity=severity,
        skip=comma_list(skip),
        region=region,
        idle_after=datetime.timedelta(seconds=duration_seconds(idle_after, "--idle-after")),
    )
    return emit(result, output, {"text": text})
