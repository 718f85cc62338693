"""``eks-gpu recommend``: the memory estimate, the ranked options and the NodePool patch.

The requirements patch is checked two ways: against Karpenter's NodePool CRD (structural
schema, plus the CEL rule for ``Gt``) and against Karpenter's own labels of the instance
types, evaluated the way Karpenter evaluates ``In`` and ``Gt``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from conftest import CliResult
from crd_schema import schema_errors
from eks_gpu.catalog.advice import WORKLOADS, guide_advice
from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types
from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.config.profiles import PROFILES, profile_config
from eks_gpu.errors import UsageError
from eks_gpu.loaders.price_cache import save_price_book
from eks_gpu.recommend.choose import launchable
from eks_gpu.recommend.memory import GIB, estimate_memory, parse_params, read_params
from eks_gpu.scheduling.instance_model import catalog_types

RunCli = Callable[..., CliResult]
Document = dict[str, Any]
Requirement = dict[str, Any]

SPECS: dict[str, GpuInstanceType] = {t.instance_type: t for t in gpu_instance_types()}
CAPACITY_KEY = "karpenter.sh/capacity-type"
OPTION_KEYS = {"instance_type", "gpus_used", "gpu_name", "price_per_hour", "reason"}
ACCEPTANCE = ("--workload", "inference", "--model-params", "13B", "--precision", "fp16")


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No refreshed prices unless a test writes them: the bundled us-east-1 table."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def recommend(run_cli: RunCli, *args: str, code: int = 0) -> Document:
    """``recommend ARGS -o json``, parsed, after checking the exit code."""
    result = run_cli("recommend", *args, "-o", "json")
    assert result.code == code, result.err
    document: Document = json.loads(result.out)
    return document


# --- parsing the model size -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("7B", 7e9),
        ("13b", 13e9),
        ("1.5B", 1.5e9),
        ("350M", 3.5e8),
        ("70000000000", 7e10),
        (" 70B ", 7e10),
        ("500k", 5e5),
        ("1T", 1e12),
        ("70", 7e10),  # a bare number below 10,000 is billions
        ("7", 7e9),
        ("1.5", 1.5e9),
        ("9999", 9.999e12),
        ("10000", 1e4),  # from 10,000 up, a literal count
        ("70K", 7e4),
        ("70M", 7e7),
    ],
)
def test_parse_params(text: str, params: float) -> None:
    assert parse_params(text) == pytest.approx(params)


@pytest.mark.parametrize(
    "text", ["", "B", "abc", "7X", "-7B", "-70", "0", "0.0", "0B", "1e9", "7,5B", "7BB", "seventy"]
)
def test_parse_params_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--model-params"):
        parse_params(text)


# --- the memory estimate --------------------------------------------------------------------


def test_13b_fp16_inference_estimate() -> None:
    estimate = estimate_memory("inference", 13e9, "fp16")
    assert estimate.required_gib == 29.1
    assert "24.2 GiB" in estimate.assumptions[0]
    assert any("+20% headroom" in line for line in estimate.assumptions)


@pytest.mark.parametrize(
    ("precision", "required"),
    [("fp32", 58.1), ("fp16", 29.1), ("bf16", 29.1), ("fp8", 14.5), ("int8", 14.5), ("int4", 7.3)],
)
def test_inference_estimate_by_precision(precision: str, required: float) -> None:
    estimate = estimate_memory("inference", 13e9, precision)  # type: ignore[arg-type]
    assert estimate.required_gib == required


def test_dev_estimate_is_the_inference_formula() -> None:
    dev = estimate_memory("dev", 7e9, "fp16")
    assert dev.required_gib == estimate_memory("inference", 7e9, "fp16").required_gib


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int4"])
def test_training_is_16_bytes_per_param_whatever_the_precision(precision: str) -> None:
    estimate = estimate_memory("training", 7e9, precision)  # type: ignore[arg-type]
    assert estimate.required_gib == round(7e9 * 16 / GIB * 1.2, 1) == 125.2
    assert "104.3 GiB" in estimate.assumptions[0]
    assert any("Adam" in line for line in estimate.assumptions)


@pytest.mark.parametrize(
    ("headroom", "required"), [(0.0, 24.2), (0.2, 29.1), (0.5, 36.3), (1.0, 48.4)]
)
def test_headroom_is_tunable(headroom: float, required: float) -> None:
    estimate = estimate_memory("inference", 13e9, "fp16", headroom=headroom)
    assert estimate.required_gib == required


@pytest.mark.parametrize(("per_param", "required"), [(8.0, 62.6), (16.0, 125.2), (20.0, 156.5)])
def test_training_bytes_per_param_is_tunable(per_param: float, required: float) -> None:
    estimate = estimate_memory("training", 7e9, "bf16", training_bytes_per_param=per_param)
    assert estimate.required_gib == required


def test_estimate_without_params_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        estimate_memory("inference", None, "fp16")


@pytest.mark.parametrize(
    ("args", "required"),
    [
        (("--headroom", "0"), 24.2),
        (("--precision", "int4"), 7.3),
        (("--workload", "training", "--model-params", "7B", "--bytes-per-param", "8"), 62.6),
    ],
)
def test_cli_tunables_reach_the_estimate(
    run_cli: RunCli, args: tuple[str, ...], required: float
) -> None:
    base = ("--workload", "inference", "--model-params", "13B")
    assert recommend(run_cli, *base, *args)["required_gpu_memory_gib"] == required


# --- the acceptance -----------------------------------------------------------------


def test_13b_fp16_picks_one_48gb_class_or_two_24gb_class_gpus(run_cli: RunCli) -> None:
    document = recommend(run_cli, *ACCEPTANCE)
    assert document["required_gpu_memory_gib"] == 29.1
    best = document["options"][0]
    spec = SPECS[best["instance_type"]]
    one_big = best["gpus_used"] == 1 and spec.gpu_memory_gib >= 40
    two_mid = best["gpus_used"] == 2 and 20 <= spec.gpu_memory_gib <= 24
    assert one_big or two_mid, best
    assert "29.1 GiB" in best["reason"] and spec.gpu_model in best["reason"]


def test_13b_fp16_never_recommends_a_t4(run_cli: RunCli) -> None:
    options = recommend(run_cli, *ACCEPTANCE)["options"]
    assert options
    assert all(option["gpu_name"] != "t4" for option in options)


def test_13b_fp16_table_output(run_cli: RunCli) -> None:
    result = run_cli("recommend", *ACCEPTANCE)
    assert result.code == 0, result.err
    assert "Required GPU memory: 29.1 GiB" in result.out
    assert "RANK" in result.out and "requirements:" in result.out
    assert "Guide:" in result.out


SCENARIOS = {
    "inference-13b": ACCEPTANCE,
    "inference-30b": ("--workload", "inference", "--model-params", "30B"),
    "inference-70b-2gpus": ("--workload", "inference", "--model-params", "70B", "--gpus", "2"),
    "training-7b": ("--workload", "training", "--model-params", "7B"),
    "dev-1b-spot": ("--workload", "dev", "--model-params", "1B", "--capacity-type", "spot"),
    "training-1b-g5": ("--workload", "training", "--model-params", "1B", "--families", "g5"),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_json_contract_and_price_order(run_cli: RunCli, name: str) -> None:
    document = recommend(run_cli, *SCENARIOS[name])
    assert {"required_gpu_memory_gib", "assumptions", "options", "nodepool_requirements"} <= set(
        document
    )
    assert isinstance(document["required_gpu_memory_gib"], float)
    assert document["assumptions"] and all(isinstance(a, str) for a in document["assumptions"])
    options = document["options"]
    assert options
    for option in options:
        assert set(option) >= OPTION_KEYS
        assert option["gpu_name"] == SPECS[option["instance_type"]].gpu_name
    prices = [option["price_per_hour"] for option in options]
    assert prices == sorted(prices)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_options_hold_the_required_memory(run_cli: RunCli, name: str) -> None:
    document = recommend(run_cli, *SCENARIOS[name])
    for option in document["options"]:
        spec = SPECS[option["instance_type"]]
        assert option["gpus_used"] <= spec.nvidia_gpus
        held = option["gpus_used"] * spec.gpu_memory_gib
        assert held >= document["required_gpu_memory_gib"], option


# --- the NodePool requirements patch --------------------------------------------------------


def minimal_nodepool(requirements: list[Requirement]) -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "gpu"},
        "spec": {
            "template": {
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": "default",
                    },
                    "requirements": requirements,
                }
            }
        },
    }


def instance_labels(spec: GpuInstanceType) -> Mapping[str, str]:
    """Karpenter's labels of ``spec`` (from its instance-type list, the one model)."""
    return all_instance_types()[spec.instance_type].labels


def admits(requirements: list[Requirement], labels: Mapping[str, str]) -> bool:
    """Whether an instance with ``labels`` satisfies every instance requirement (Karpenter's
    ``In``/``Gt``: a missing label fails); the capacity type is not an instance label."""
    for requirement in requirements:
        key, operator, values = requirement["key"], requirement["operator"], requirement["values"]
        if key == CAPACITY_KEY:
            continue
        value = labels.get(key)
        if value is None:
            return False
        if operator == "In" and value not in values:
            return False
        if operator == "Gt" and not int(value) > int(values[0]):
            return False
        assert operator in ("In", "Gt"), requirement
    return True


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_requirements_pass_the_nodepool_crd_schema(
    run_cli: RunCli, reference: Path, name: str
) -> None:
    requirements = recommend(run_cli, *SCENARIOS[name])["nodepool_requirements"]
    assert schema_errors(minimal_nodepool(requirements), reference) == []
    for requirement in requirements:  # the CEL rule on Gt/Lt, which the schema check skips
        if requirement["operator"] in ("Gt", "Lt"):
            assert len(requirement["values"]) == 1 and int(requirement["values"][0]) >= 0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_option_with_the_pods_gpu_count_satisfies_the_requirements(
    run_cli: RunCli, name: str
) -> None:
    document = recommend(run_cli, *SCENARIOS[name])
    requirements = document["nodepool_requirements"]
    keys = [requirement["key"] for requirement in requirements]
    assert "karpenter.k8s.aws/instance-family" in keys
    assert "karpenter.k8s.aws/instance-gpu-name" in keys
    assert "karpenter.k8s.aws/instance-gpu-memory" in keys
    # the pod requests the best option's GPU count; options using that many GPUs must launch
    assert document["pod_gpu_request"] == document["options"][0]["gpus_used"]
    for option in document["options"]:
        if option["gpus_used"] == document["pod_gpu_request"]:
            assert admits(requirements, instance_labels(SPECS[option["instance_type"]])), option


def test_two_gpu_options_require_a_gpu_count(run_cli: RunCli) -> None:
    document = recommend(run_cli, *SCENARIOS["inference-70b-2gpus"])
    (count,) = [
        r for r in document["nodepool_requirements"] if r["key"].endswith("instance-gpu-count")
    ]
    assert count["operator"] == "Gt" and count["values"] == ["1"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_type_the_requirements_admit_holds_the_workload(run_cli: RunCli, name: str) -> None:
    document = recommend(run_cli, *SCENARIOS[name])
    required = document["required_gpu_memory_gib"]
    admitted = [
        spec
        for spec in SPECS.values()
        if spec.instance_type in all_instance_types()  # what Karpenter can launch at all
        and admits(document["nodepool_requirements"], instance_labels(spec))
    ]
    assert admitted
    request = document["pod_gpu_request"]
    too_small = [
        spec.instance_type
        for spec in admitted
        if spec.nvidia_gpus < request or request * spec.gpu_memory_gib < required
    ]
    assert too_small == []


def test_capacity_types_default_to_the_guides(run_cli: RunCli) -> None:
    for workload in WORKLOADS:
        document = recommend(run_cli, "--workload", workload, "--model-params", "1B")
        (capacity,) = [r for r in document["nodepool_requirements"] if r["key"] == CAPACITY_KEY]
        assert capacity["values"] == list(guide_advice()[workload].capacity_types)
        assert document["guide_advice"] == guide_advice()[workload].advice


# --- constraints ----------------------------------------------------------------------------


def test_max_price_filters(run_cli: RunCli) -> None:
    options = recommend(run_cli, *ACCEPTANCE, "--max-price", "2.5", "--limit", "50")["options"]
    assert options
    assert all(option["price_per_hour"] <= 2.5 for option in options)


def test_gpus_forces_two_gpus(run_cli: RunCli) -> None:
    options = recommend(run_cli, *ACCEPTANCE, "--gpus", "2", "--limit", "20")["options"]
    assert options
    assert all(option["gpus_used"] == 2 for option in options)
    assert all(SPECS[option["instance_type"]].gpu_count >= 2 for option in options)


def test_families_restricts(run_cli: RunCli) -> None:
    document = recommend(run_cli, *ACCEPTANCE, "--families", "g5")
    options = document["options"]
    assert options
    assert {SPECS[o["instance_type"]].family for o in options} == {"g5"}
    assert all(option["gpus_used"] == 2 for option in options)  # 22.35 GiB A10Gs for 29.1 GiB
    (family,) = [r for r in document["nodepool_requirements"] if r["key"].endswith("-family")]
    assert family["values"] == ["g5"]


def test_unknown_family_exits_2_with_did_you_mean(run_cli: RunCli) -> None:
    result = run_cli("recommend", *ACCEPTANCE, "--families", "g55")
    assert result.code == 2
    assert "did you mean 'g5'" in result.err


def test_training_ranks_t4_and_v100_with_the_fp16_caveat(run_cli: RunCli) -> None:
    """No bf16 on T4/V100, but fp16 mixed precision trains on them (the guide's training
    pick is p3.2xlarge): they are ranked by price like the rest, and their reason says so."""
    document = recommend(run_cli, "--workload", "training", "--model-params", "1B", "--limit", "99")
    by_gpu = {o["gpu_name"] for o in document["options"]}
    assert {"t4", "v100"} <= by_gpu
    for option in document["options"]:
        caveat = "no bf16" in option["reason"] and "fp16 mixed precision" in option["reason"]
        assert caveat == (option["gpu_name"] in ("t4", "v100")), option
    prices = [o["price_per_hour"] for o in document["options"]]
    assert prices == sorted(prices)
    assert any("have no bf16" in line for line in document["assumptions"])


def test_training_families_keep_the_caveat(run_cli: RunCli) -> None:
    args = ("--workload", "training", "--model-params", "1B", "--families", "g4dn,p3dn")
    document = recommend(run_cli, *args, "--limit", "50")
    assert {o["gpu_name"] for o in document["options"]} == {"t4", "v100"}
    assert all("no bf16" in o["reason"] for o in document["options"])
    v100 = [o for o in document["options"] if o["gpu_name"] == "v100"]
    assert v100 and all("legacy" in o["reason"] for o in v100)


def test_inference_has_no_bf16_caveat(run_cli: RunCli) -> None:
    document = recommend(run_cli, *ACCEPTANCE, "--families", "g4dn", "--limit", "50")
    assert document["options"] and not any("bf16" in o["reason"] for o in document["options"])


def test_only_types_of_the_instance_model_are_recommended(run_cli: RunCli) -> None:
    """Recommend draws from the one model simulate and validate use; p3, missing from
    Karpenter v1.14's generated list, is in it, derived from EC2 facts (issue 10 finding 7)."""
    everything = recommend(
        run_cli, "--workload", "training", "--model-params", "1B", "--limit", "99"
    )
    assert all(o["instance_type"] in all_instance_types() for o in everything["options"])


def test_recommend_draws_from_the_simulators_instance_model() -> None:
    """What recommend may recommend is what simulate and validate model: the same list."""
    model = {t.name for t in catalog_types()}
    rows = gpu_instance_types()
    assert {r.instance_type for r in rows if launchable(r)} == {
        r.instance_type for r in rows
    } & model
    assert {"p3.2xlarge", "p3.8xlarge", "p3.16xlarge"} <= model  # derived from EC2 facts


def test_spot_only_notes_spot_prices_are_unknown(run_cli: RunCli) -> None:
    document = recommend(run_cli, *ACCEPTANCE, "--capacity-type", "spot")
    assert document["options"]
    assert any("spot prices are unknown" in line for line in document["assumptions"])
    (capacity,) = [r for r in document["nodepool_requirements"] if r["key"] == CAPACITY_KEY]
    assert capacity["values"] == ["spot"]


def test_spot_prices_from_a_refreshed_cache_rank_the_options(run_cli: RunCli) -> None:
    save_price_book(
        PriceBook(
            region="us-west-2",
            source="aws",
            date="2026-11-30",
            on_demand={"g6e.xlarge": 1.9, "g6e.2xlarge": 2.3},
            spot={"g6e.xlarge": {"us-west-2a": 0.9}, "g6e.2xlarge": {"us-west-2b": 0.7}},
            zones={"g6e.xlarge": ("us-west-2a",), "g6e.2xlarge": ("us-west-2b",)},
        )
    )
    args = (*ACCEPTANCE, "--capacity-type", "spot", "--region", "us-west-2")
    document = recommend(run_cli, *args)
    assert document["price_basis"] == "spot"
    assert [(o["instance_type"], o["price_per_hour"]) for o in document["options"]] == [
        ("g6e.2xlarge", 0.7),
        ("g6e.xlarge", 0.9),
    ]


def test_no_fit_exits_1_with_a_message(run_cli: RunCli) -> None:
    result = run_cli("recommend", *ACCEPTANCE, "--max-price", "0.01")
    assert result.code == 1
    assert "No instance type fits" in result.out


def test_no_fit_json_has_no_options(run_cli: RunCli) -> None:
    document = recommend(run_cli, *ACCEPTANCE, "--max-price", "0.01", code=1)
    assert document["options"] == [] and document["nodepool_requirements"] == []


@pytest.mark.parametrize("extra", [(), ("--model-params", "70B")])
def test_gpu_memory_skips_the_estimate(run_cli: RunCli, extra: tuple[str, ...]) -> None:
    document = recommend(run_cli, "--workload", "inference", "--gpu-memory", "30", *extra)
    assert document["required_gpu_memory_gib"] == 30.0
    assert any("--gpu-memory" in line for line in document["assumptions"])
    assert not any("bytes/param" in line for line in document["assumptions"])


def test_missing_size_and_memory_exits_2(run_cli: RunCli) -> None:
    result = run_cli("recommend", "--workload", "inference")
    assert result.code == 2
    assert "--model-params" in result.err and "--gpu-memory" in result.err


def test_bad_model_params_exits_2(run_cli: RunCli) -> None:
    result = run_cli("recommend", "--workload", "inference", "--model-params", "lots")
    assert result.code == 2
    assert "'lots'" in result.err


@pytest.mark.parametrize("text", ["-70", "0", "seventy"])
def test_nonsense_model_params_exit_2_with_the_accepted_forms(run_cli: RunCli, text: str) -> None:
    result = run_cli("recommend", "--workload", "inference", f"--model-params={text}")
    assert result.code == 2
    assert f"{text!r}" in result.err and "70B" in result.err and "billions" in result.err


def test_only_a_bare_number_gets_the_billions_note() -> None:
    assert read_params("70B") == (7e10, None)
    assert read_params("10000")[1] is None
    params, note = read_params("70")
    assert params == 7e10 and note is not None and "70 read as 70B" in note


def test_bare_70_is_a_70b_model_not_a_t4(run_cli: RunCli) -> None:
    """Issue 14: ``--model-params 70`` was read as 70 parameters (0.0 GiB) and got a T4."""
    bare = recommend(run_cli, "--workload", "inference", "--model-params", "70")
    suffixed = recommend(run_cli, "--workload", "inference", "--model-params", "70B")
    assert bare["required_gpu_memory_gib"] == suffixed["required_gpu_memory_gib"] > 150
    assert bare["options"] == suffixed["options"] and bare["options"]
    assert all(o["gpu_name"] != "t4" for o in bare["options"])
    assert bare["assumptions"][0].startswith("--model-params 70 read as 70B parameters")
    assert not any("read as" in line for line in suffixed["assumptions"])
    table = run_cli("recommend", "--workload", "inference", "--model-params", "70")
    assert "--model-params 70 read as 70B parameters" in table.out


# --- init profiles share the guide's advice -------------------------------------------------


@pytest.mark.parametrize("workload", WORKLOADS)
def test_profile_draws_families_and_capacity_from_guide_advice(workload: str) -> None:
    advice = guide_advice()[workload]  # type: ignore[index]
    assert PROFILES[workload].pool["instanceFamilies"] == list(advice.families)
    assert PROFILES[workload].pool["capacityTypes"] == list(advice.capacity_types)
    assert PROFILES[workload].summary == advice.summary
    pool = profile_config(workload).node_pools[0]
    assert pool.instance_families == list(advice.families)
    assert pool.capacity_types == list(advice.capacity_types)
