"""The GPU lint rules of ``eks-gpu validate``: one module per rule, all pure.

Rule ids are part of the JSON contract (``eks-gpu validate -o json``); never rename one.
Facts the rules need (families, GPU names, local NVMe, compute capability, quirks) come
from :mod:`eks_gpu.catalog`, never from lists inside a rule.
"""

from __future__ import annotations

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding, sort_findings
from eks_gpu.validate.rules import (
    al2023_bootstrap_sh,
    ami_unpinned,
    arch_mismatch,
    cuda_arch_unsupported,
    device_plugin_crashloop,
    device_plugin_untolerated_taint,
    fractional_gpu_family,
    gpu_limit_first_pass,
    gpu_limit_missing,
    gpu_pool_untainted,
    gpu_request_not_limit,
    imds_exposed,
    legacy_gpu_family,
    node_overlay_feature_gate,
    nodeconfig_kubelet_conflict,
    non_nvidia_gpu_family,
    raid0_user_data_conflict,
    raid0_without_instance_store,
    requirement_matches_nothing,
    root_volume_small,
    workload_selector_unsatisfiable,
)
from eks_gpu.validate.rules.rule import Rule

ALL_RULES: tuple[Rule, ...] = (
    gpu_pool_untainted.RULE,
    device_plugin_untolerated_taint.RULE,
    device_plugin_crashloop.RULE,
    workload_selector_unsatisfiable.RULE,
    gpu_limit_missing.RULE,
    raid0_without_instance_store.RULE,
    non_nvidia_gpu_family.RULE,
    fractional_gpu_family.RULE,
    cuda_arch_unsupported.RULE,
    ami_unpinned.RULE,
    arch_mismatch.RULE,
    imds_exposed.RULE,
    root_volume_small.RULE,
    gpu_request_not_limit.RULE,
    legacy_gpu_family.RULE,
    requirement_matches_nothing.RULE,
    al2023_bootstrap_sh.RULE,
    raid0_user_data_conflict.RULE,
    nodeconfig_kubelet_conflict.RULE,
    gpu_limit_first_pass.RULE,
    node_overlay_feature_gate.RULE,
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}


def run_lint(manifests: ManifestSet) -> list[Finding]:
    """Every finding of every rule, errors first, then by object, path and rule."""
    return sort_findings([f for rule in ALL_RULES for f in rule.check(manifests)])


__all__ = ["ALL_RULES", "RULES_BY_ID", "Rule", "run_lint"]
