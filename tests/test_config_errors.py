"""Bad ``eks-gpu.yaml`` files: each fails with exit 2 and a line naming the exact field.

Every case is written to a temporary file and run through ``eks-gpu render -c FILE
--cluster-name demo``. The error must be a clean message (no traceback), and one of its
problem lines must start with the field path and carry a fragment of the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CliResult

RunCli = Callable[..., CliResult]


@dataclass(frozen=True)
class BadConfig:
    """One bad config: its YAML text, the field path the error names, and reason fragments."""

    text: str | None  # None: the file is not written at all
    path: str  # "" for file-level problems (no field path)
    fragments: tuple[str, ...]


CASES: dict[str, BadConfig] = {
    # --- unknown fields ---------------------------------------------------------------
    "unknown-top-level-field": BadConfig(
        "clusterNme: demo\n",
        "clusterNme",
        ("unknown field", "did you mean 'clusterName'?", "allowed: apiVersion"),
    ),
    "unknown-pool-field": BadConfig(
        "nodePools: [{instanceFamily: [g5]}]\n",
        "nodePools[0].instanceFamily",
        ("unknown field", "did you mean 'instanceFamilies'?"),
    ),
    "unknown-deeply-nested-field": BadConfig(
        "nodeClasses: [{rootVolume: {volumeSise: 100Gi}}]\n",
        "nodeClasses[0].rootVolume.volumeSise",
        ("unknown field", "did you mean 'volumeSize'?"),
    ),
    # --- wrong types -----------------------------------------------------------------
    "string-for-int": BadConfig(
        "nodePools: [{weight: ten}]\n",
        "nodePools[0].weight",
        ("'ten'", "valid integer"),
    ),
    "float-for-int": BadConfig(
        "nodePools: [{weight: 1.5}]\n",
        "nodePools[0].weight",
        ("1.5", "valid integer"),
    ),
    "list-for-mapping": BadConfig(
        "nodePools: [{labels: [a, b]}]\n",
        "nodePools[0].labels",
        ("list", "valid dictionary"),
    ),
    "null-for-list": BadConfig(
        "nodePools: null\n",
        "nodePools",
        ("None", "valid list"),
    ),
    "empty-pool-list": BadConfig(
        "nodePools: []\n",
        "nodePools",
        ("at least 1 item",),
    ),
    # --- enums and patterns ------------------------------------------------------------
    "bad-taint-effect": BadConfig(
        "nodePools: [{taints: [{key: nvidia.com/gpu, effect: NoScheduling}]}]\n",
        "nodePools[0].taints[0].effect",
        ("'NoScheduling'", "'NoSchedule'", "'PreferNoSchedule'", "'NoExecute'"),
    ),
    "bad-taint-value": BadConfig(
        "nodePools: [{taints: [{key: a, value: 'a b', effect: NoSchedule}]}]\n",
        "nodePools[0].taints[0].value",
        ("'a b'", "label value"),
    ),
    "bad-capacity-type": BadConfig(
        "nodePools: [{capacityTypes: [spot-instance]}]\n",
        "nodePools[0].capacityTypes[0]",
        ("'spot-instance'", "'spot'", "'on-demand'"),
    ),
    "bad-architecture": BadConfig(
        "nodePools: [{architectures: [x86_64]}]\n",
        "nodePools[0].architectures[0]",
        ("'x86_64'", "'amd64'", "'arm64'"),
    ),
    "malformed-duration": BadConfig(
        "nodePools: [{disruption: {consolidateAfter: 30 s}}]\n",
        "nodePools[0].disruption.consolidateAfter",
        ("'30 s'", "'30s'", "'Never'"),
    ),
    "bad-consolidation-policy": BadConfig(
        "nodePools: [{disruption: {consolidationPolicy: Sometimes}}]\n",
        "nodePools[0].disruption.consolidationPolicy",
        ("'Sometimes'", "'WhenEmpty'", "'WhenEmptyOrUnderutilized'"),
    ),
    "bad-budget-nodes": BadConfig(
        "nodePools: [{disruption: {budgets: [{nodes: 10 %}]}}]\n",
        "nodePools[0].disruption.budgets[0].nodes",
        ("'10 %'",),
    ),
    "bad-ebs-volume-size": BadConfig(
        "nodeClasses: [{rootVolume: {volumeSize: 100GB}}]\n",
        "nodeClasses[0].rootVolume.volumeSize",
        ("'100GB'", "'100Gi'"),
    ),
    "zero-ebs-volume-size": BadConfig(
        "nodeClasses: [{rootVolume: {volumeSize: 0Gi}}]\n",
        "nodeClasses[0].rootVolume.volumeSize",
        ("'0Gi'", "EBS size"),
    ),
    "bad-ami-alias": BadConfig(
        "nodeClasses: [{ami: {alias: al2@latest}}]\n",
        "nodeClasses[0].ami.alias",
        ("'al2@latest'", "'al2023@latest'"),
    ),
    "bad-device-plugin-version": BadConfig(
        "devicePlugin: {version: '0.20'}\n",
        "devicePlugin.version",
        ("'0.20'", "'v0.20.0'"),
    ),
    "bad-tests-namespace": BadConfig(
        "tests: {namespace: Tests}\n",
        "tests.namespace",
        ("'Tests'", "DNS label"),
    ),
    "bad-cluster-name-in-config": BadConfig(
        "clusterName: bad name\n",
        "clusterName",
        ("'bad name'", "not valid"),
    ),
    # --- ranges ----------------------------------------------------------------------
    "negative-limit": BadConfig(
        "nodePools: [{limits: {nvidia.com/gpu: -4}}]\n",
        "nodePools[0].limits[nvidia.com/gpu]",
        ("'-4'", "non-negative quantity"),
    ),
    "fractional-node-limit": BadConfig(
        "nodePools: [{limits: {nodes: '1.5'}}]\n",
        "nodePools[0].limits[nodes]",
        ("whole number of nodes", "1.5"),
    ),
    "weight-too-high": BadConfig(
        "nodePools: [{weight: 101}]\n",
        "nodePools[0].weight",
        ("101", "less than or equal to 100"),
    ),
    "weight-zero": BadConfig(
        "nodePools: [{weight: 0}]\n",
        "nodePools[0].weight",
        ("0", "greater than or equal to 1"),
    ),
    "time-slicing-one-replica": BadConfig(
        "devicePlugin: {sharing: {timeSlicing: {replicas: 1}}}\n",
        "devicePlugin.sharing.timeSlicing.replicas",
        ("1", "greater than or equal to 2"),
    ),
    "test-deadline-too-short": BadConfig(
        "tests: {deadlineSeconds: 30}\n",
        "tests.deadlineSeconds",
        ("30", "greater than or equal to 60"),
    ),
    # --- instance families -------------------------------------------------------------
    "unknown-family": BadConfig(
        "nodePools: [{instanceFamilies: [g5x]}]\n",
        "nodePools[0].instanceFamilies[0]",
        ("unknown GPU instance family 'g5x'", "did you mean 'g5'?", "known: "),
    ),
    "amd-family-g4ad": BadConfig(
        "nodePools: [{instanceFamilies: [g5, g4ad]}]\n",
        "nodePools[0].instanceFamilies[1]",
        ("'g4ad'", "AMD", "nvidia.com/gpu"),
    ),
    "arm64-family-on-amd64": BadConfig(
        "nodePools: [{instanceFamilies: [g5g], architectures: [amd64]}]\n",
        "nodePools[0].instanceFamilies[0]",
        ("'g5g'", "arm64 only", "architectures"),
    ),
    # --- requirements ------------------------------------------------------------------
    "in-without-values": BadConfig(
        "nodePools: [{requirements: [{key: example.com/size, operator: In, values: []}]}]\n",
        "nodePools[0].requirements[0].values",
        ("operator In", "at least one value"),
    ),
    "gt-non-integer": BadConfig(
        "nodePools: [{requirements: [{key: example.com/gpus, operator: Gt, values: [four]}]}]\n",
        "nodePools[0].requirements[0].values",
        ("operator Gt", "non-negative integer", "four"),
    ),
    "exists-with-values": BadConfig(
        "nodePools: [{requirements: [{key: example.com/x, operator: Exists, values: [y]}]}]\n",
        "nodePools[0].requirements[0].values",
        ("operator Exists", "takes no values"),
    ),
    "min-values-above-count": BadConfig(
        "nodePools: [{requirements: [{key: a, operator: In, values: [x], minValues: 3}]}]\n",
        "nodePools[0].requirements[0].values",
        ("minValues is 3", "only 1"),
    ),
    "bad-operator": BadConfig(
        "nodePools: [{requirements: [{key: a, operator: Equals, values: [x]}]}]\n",
        "nodePools[0].requirements[0].operator",
        ("'Equals'", "'In'", "'NotIn'"),
    ),
    "requirement-on-owned-key": BadConfig(
        "nodePools: [{requirements: [{key: karpenter.sh/capacity-type, operator: In, "
        "values: [spot]}]}]\n",
        "nodePools[0].requirements[0].key",
        ("'karpenter.sh/capacity-type'", "capacityTypes"),
    ),
    "requirement-on-restricted-key": BadConfig(
        "nodePools: [{requirements: [{key: karpenter.sh/nodepool, operator: In, values: [x]}]}]\n",
        "nodePools[0].requirements[0].key",
        ("'karpenter.sh/nodepool'", "restricted"),
    ),
    # --- labels, taints, tags ------------------------------------------------------------
    "restricted-label-hostname": BadConfig(
        "nodePools: [{labels: {kubernetes.io/hostname: node-1}}]\n",
        "nodePools[0].labels[kubernetes.io/hostname]",
        ("'kubernetes.io/hostname'", "restricted"),
    ),
    "restricted-label-karpenter-domain": BadConfig(
        "nodePools: [{labels: {karpenter.sh/foo: x}}]\n",
        "nodePools[0].labels[karpenter.sh/foo]",
        ("restricted",),
    ),
    "no-taints": BadConfig(
        "nodePools: [{taints: []}]\n",
        "nodePools[0].taints",
        ("at least one taint", "nvidia.com/gpu=true:NoSchedule"),
    ),
    "restricted-ec2-tag": BadConfig(
        "nodeClasses: [{tags: {kubernetes.io/cluster/x: owned}}]\n",
        "nodeClasses[0].tags[kubernetes.io/cluster/x]",
        ("'kubernetes.io/cluster/x'", "set by Karpenter"),
    ),
    "non-string-tag-value": BadConfig(
        "nodeClasses: [{tags: {team: 1}}]\n",
        "nodeClasses[0].tags[team]",
        ("not a string", "quote it"),
    ),
    # --- node classes ------------------------------------------------------------------
    "role-and-instance-profile": BadConfig(
        "nodeClasses: [{role: MyRole, instanceProfile: MyProfile}]\n",
        "nodeClasses[0].instanceProfile",
        ("role or instanceProfile, not both",),
    ),
    "ami-alias-and-name": BadConfig(
        "nodeClasses: [{ami: {alias: al2023@latest, name: my-ami-*}}]\n",
        "nodeClasses[0].ami",
        ("exactly one of alias or name",),
    ),
    "ami-owner-without-name": BadConfig(
        "nodeClasses: [{ami: {alias: al2023@latest, owner: amazon}}]\n",
        "nodeClasses[0].ami.owner",
        ("only applies with name",),
    ),
    "image-gc-thresholds-inverted": BadConfig(
        "nodeClasses: [{kubelet: {imageGCHighThresholdPercent: 50, "
        "imageGCLowThresholdPercent: 60}}]\n",
        "nodeClasses[0].kubelet.imageGCHighThresholdPercent",
        ("greater than imageGCLowThresholdPercent",),
    ),
    "duplicate-node-class-names": BadConfig(
        "nodeClasses: [{name: a}, {name: a}]\nnodePools: [{nodeClass: a}]\n",
        "nodeClasses[1].name",
        ("duplicate name 'a'",),
    ),
    # --- references between objects ------------------------------------------------------
    "pool-references-missing-node-class": BadConfig(
        "nodePools: [{nodeClass: missing}]\n",
        "nodePools[0].nodeClass",
        ("no nodeClasses entry is named 'missing'", "defined: nodeclass-gpu"),
    ),
    "duplicate-pool-names": BadConfig(
        "nodePools: [{name: gpu-a}, {name: gpu-a}]\n",
        "nodePools[1].name",
        ("duplicate name 'gpu-a'",),
    ),
    "tests-pool-missing": BadConfig(
        "tests: {nodePool: nope}\n",
        "tests.nodePool",
        ("no nodePools entry is named 'nope'", "defined: nodepool-gpu"),
    ),
    # --- the file itself ---------------------------------------------------------------
    "invalid-yaml-syntax": BadConfig(
        "clusterName: demo\nnodePools:\n  - name: a\n   weight: 5\n",
        "line 4, column 4",
        ("not valid YAML",),
    ),
    "yaml-tab-indent": BadConfig(
        "tests:\n\tenabled: true\n",
        "line 2, column 1",
        ("not valid YAML", "'\\t'"),
    ),
    "unsafe-yaml-tag": BadConfig(
        "clusterName: !!python/object/apply:os.system [echo]\n",
        "line 1, column 14",
        ("not valid YAML", "constructor"),
    ),
    "top-level-list": BadConfig(
        "- clusterName: demo\n",
        "",
        ("top level must be a mapping", "got list"),
    ),
    "top-level-scalar": BadConfig(
        "just a string\n",
        "",
        ("top level must be a mapping", "got str"),
    ),
    "multiple-documents": BadConfig(
        "clusterName: a\n---\nclusterName: b\n",
        "",
        ("expected one YAML document, found 2",),
    ),
    "missing-file": BadConfig(None, "", ("file not found",)),
}


def problem_lines(err: str) -> list[str]:
    """The indented ``  <path>: <message>`` lines of a ConfigError, indentation removed."""
    return [line[2:] for line in err.splitlines() if line.startswith("  ")]


def assert_clean_usage_error(result: CliResult) -> None:
    """Exit 2, nothing on stdout, an ``error:`` message and no traceback."""
    assert result.code == 2, result.err
    assert result.out == ""
    assert result.err.startswith("error: "), result.err
    assert "Traceback" not in result.err
    assert "internal error" not in result.err


def write_config(tmp_path: Path, text: str | None) -> Path:
    path = tmp_path / "eks-gpu.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return path


def render(run_cli: RunCli, path: Path) -> CliResult:
    result: CliResult = run_cli("render", "-c", str(path), "--cluster-name", "demo")
    return result


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_config_names_field_and_reason(
    run_cli: RunCli, tmp_path: Path, case: BadConfig
) -> None:
    path = write_config(tmp_path, case.text)

    result = render(run_cli, path)

    assert_clean_usage_error(result)
    assert result.err.startswith(f"error: {path}: "), result.err
    prefix = f"{case.path}: " if case.path else ""
    matching = [line for line in problem_lines(result.err) if line.startswith(prefix)]
    assert matching, f"no problem line starts with {prefix!r}:\n{result.err}"
    assert any(all(fragment in line for fragment in case.fragments) for line in matching), (
        f"no {prefix!r} line has all of {case.fragments}:\n{result.err}"
    )


def test_bad_config_ends_with_hint(run_cli: RunCli, tmp_path: Path) -> None:
    result = render(run_cli, write_config(tmp_path, "nodePools: [{weight: 101}]\n"))

    assert_clean_usage_error(result)
    assert result.err.splitlines()[-1].startswith("hint: ")
    assert "eks-gpu init" in result.err


def test_missing_file_hints_at_init(run_cli: RunCli, tmp_path: Path) -> None:
    result = render(run_cli, tmp_path / "nope.yaml")

    assert_clean_usage_error(result)
    assert "hint: run `eks-gpu init`" in result.err


def test_every_problem_in_one_file_is_reported(run_cli: RunCli, tmp_path: Path) -> None:
    text = (
        "clusterNme: demo\n"
        "nodePools:\n"
        "  - weight: 101\n"
        "    taints: [{key: nvidia.com/gpu, effect: Sometimes}]\n"
        "devicePlugin: {version: '0.20'}\n"
    )
    expected = [
        "clusterNme",
        "nodePools[0].taints[0].effect",
        "nodePools[0].weight",
        "devicePlugin.version",
    ]

    result = render(run_cli, write_config(tmp_path, text))

    assert_clean_usage_error(result)
    assert f": {len(expected)} problems\n" in result.err
    lines = problem_lines(result.err)
    assert len(lines) == len(expected), result.err
    for path in expected:
        assert sum(line.startswith(f"{path}: ") for line in lines) == 1, (path, result.err)


def test_cross_field_problems_are_all_reported(run_cli: RunCli, tmp_path: Path) -> None:
    text = (
        "nodeClasses: [{role: R, instanceProfile: P}]\n"
        "nodePools: [{nodeClass: missing, instanceFamilies: [g4ad, g5x]}]\n"
        "tests: {nodePool: nope}\n"
    )
    expected = [
        "nodeClasses[0].instanceProfile",
        "nodePools[0].nodeClass",
        "nodePools[0].instanceFamilies[0]",
        "nodePools[0].instanceFamilies[1]",
        "tests.nodePool",
    ]

    result = render(run_cli, write_config(tmp_path, text))

    assert_clean_usage_error(result)
    assert [line.split(": ", 1)[0] for line in problem_lines(result.err)] == expected


def test_bad_cluster_name_flag(run_cli: RunCli) -> None:
    result = run_cli("render", "--profile", "dev", "--cluster-name", "bad name!")

    assert_clean_usage_error(result)
    assert "'bad name!' is not a valid EKS cluster name" in result.err
    assert "hint: use 1-100 letters" in result.err


def test_missing_cluster_name(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./eks-gpu.yaml here
    monkeypatch.delenv("EKS_GPU_CONFIG", raising=False)

    result = run_cli("render")

    assert_clean_usage_error(result)
    assert "no cluster name" in result.err
    assert "hint: pass --cluster-name NAME, or set clusterName" in result.err


# --- configs that once slipped through: each must now fail cleanly -------------------------

ONCE_ACCEPTED = {
    "budget-schedule-without-duration": pytest.param(
        "nodePools: [{disruption: {budgets: [{nodes: '1', schedule: '@daily'}]}}]\n",
        "nodePools[0].disruption.budgets[0]",
    ),
    "budget-schedule-not-cron": pytest.param(
        "nodePools: [{disruption: {budgets: [{nodes: '1', schedule: nonsense, duration: 8h}]}}]\n",
        "nodePools[0].disruption.budgets[0].schedule",
    ),
    "label-in-karpenter-k8s-aws-domain": pytest.param(
        "nodePools: [{labels: {karpenter.k8s.aws/foo: x}}]\n",
        "nodePools[0].labels[karpenter.k8s.aws/foo]",
    ),
    "requirement-in-karpenter-k8s-aws-domain": pytest.param(
        "nodePools: [{requirements: [{key: karpenter.k8s.aws/foo, operator: Exists}]}]\n",
        "nodePools[0].requirements[0].key",
    ),
    "bool-for-int": pytest.param(
        "nodePools: [{weight: true}]\n",
        "nodePools[0].weight",
    ),
}


@pytest.mark.parametrize(("text", "path"), list(ONCE_ACCEPTED.values()), ids=list(ONCE_ACCEPTED))
def test_invalid_config_is_rejected(run_cli: RunCli, tmp_path: Path, text: str, path: str) -> None:
    result = render(run_cli, write_config(tmp_path, text))

    assert_clean_usage_error(result)
    assert any(line.startswith(path) for line in problem_lines(result.err)), result.err


@pytest.mark.parametrize(
    "text",
    [
        "nodeClasses: [{kubelet: {kubeReserved: {gpu: '1'}}}]\n",
        "nodePools: [{labels: {'': x}}]\n",
    ],
    ids=["bad-enum-key", "empty-key"],
)
def test_mapping_key_error_path_is_well_formed(run_cli: RunCli, tmp_path: Path, text: str) -> None:
    result = render(run_cli, write_config(tmp_path, text))

    assert_clean_usage_error(result)
    paths = [line.split(": ", 1)[0] for line in problem_lines(result.err)]
    assert paths
    for path in paths:
        assert ".[" not in path and ".." not in path, path


def test_map_entry_path_is_spelled_one_way(run_cli: RunCli, tmp_path: Path) -> None:
    type_error = render(run_cli, write_config(tmp_path, "nodePools: [{limits: {nodes: '-1'}}]\n"))
    check_error = render(run_cli, write_config(tmp_path, "nodePools: [{limits: {nodes: '1.5'}}]\n"))

    assert_clean_usage_error(type_error)
    assert_clean_usage_error(check_error)
    assert (
        problem_lines(type_error.err)[0].split(": ")[0]
        == (problem_lines(check_error.err)[0].split(": ")[0])
    )


def test_exclude_node_classes_may_name_classes_this_config_does_not_own(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # Bottlerocket node classes live outside eks-gpu's config; naming them is the point.
    config = write_config(tmp_path, "devicePlugin: {excludeNodeClasses: [bottlerocket-gpu]}\n")
    result = render(run_cli, config)
    assert result.code == 0, result.err
    assert "bottlerocket-gpu" in result.out
