"""Constrained string types shared by the config models.

The patterns are the ones the Kubernetes API and Karpenter's v1 CRDs enforce, so a config
that passes here renders objects the API server accepts. Each type carries a human
description used in error messages ("expected ...").
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
DURATION = r"^([0-9]+(s|m|h))+$"
DURATION_OR_NEVER = r"^(([0-9]+(s|m|h))+|Never)$"
QUANTITY = (
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
EBS_VOLUME_SIZE = (
    r"^((?:[1-9][0-9]{0,3}|[1-4][0-9]{4}|[5][0-8][0-9]{3}|59000)Gi"
    r"|(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|[6][0-3][0-9]{3}|64000)G"
    r"|([1-9]||[1-5][0-7]|58)Ti|([1-9]||[1-5][0-9]|6[0-3]|64)T)$"
)
SEMVER_TAG = r"^v[0-9]+\.[0-9]+\.[0-9]+$"
CRON = r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|((.+)\s(.+)\s(.+)\s(.+)\s(.+))$"
BUDGET_NODES = r"^((100|[0-9]{1,2})%|[0-9]+)$"
BUDGET_DURATION = r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$"
CLUSTER_NAME = r"^[0-9A-Za-z][A-Za-z0-9\-_]*$"
AL2023_ALIAS = r"^al2023@(latest|v[0-9]{8})$"

# Human wording for each pattern, used by the error formatter.
PATTERN_WORDS: dict[str, str] = {
    DNS_LABEL: "a DNS label: lower-case letters, digits and '-', at most 63 characters",
    DNS_SUBDOMAIN: "a DNS subdomain: lower-case letters, digits, '-' and '.'",
    QUALIFIED_NAME: "a qualified name such as 'node-type' or 'example.com/gpu'",
    LABEL_VALUE: "a label value: letters, digits, '-', '_' and '.', at most 63 characters",
    DURATION: "a duration such as '30s', '5m' or '1h30m'",
    DURATION_OR_NEVER: "a duration such as '30s', '5m', '720h', or 'Never'",
    QUANTITY: "a non-negative quantity such as '16', '500m' or '64Gi'",
    EBS_VOLUME_SIZE: "an EBS size such as '100Gi', '200G' or '1Ti' (at most 64T)",
    SEMVER_TAG: "a release tag such as 'v0.20.0'",
    CRON: "a cron schedule such as '0 9 * * mon-fri', or a macro such as '@daily'",
    BUDGET_NODES: "a node count such as '1' or a percentage such as '10%'",
    BUDGET_DURATION: "a duration in hours and minutes such as '8h' or '1h30m'",
    CLUSTER_NAME: "an EKS cluster name: letters, digits, '-' and '_', at most 100 characters",
    AL2023_ALIAS: "'al2023@latest' or a pinned release such as 'al2023@v20260714'",
}


def _check_qualified_name(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if len(name) > 63:
        raise ValueError(f"the name part {name!r} is longer than 63 characters")
    if len(prefix) > 253:
        raise ValueError("the prefix is longer than 253 characters")
    return value


DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]
DnsSubdomain = Annotated[str, StringConstraints(pattern=DNS_SUBDOMAIN, max_length=253)]
QualifiedName = Annotated[
    str, StringConstraints(pattern=QUALIFIED_NAME), AfterValidator(_check_qualified_name)
]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=63)]
Duration = Annotated[str, StringConstraints(pattern=DURATION)]
DurationOrNever = Annotated[str, StringConstraints(pattern=DURATION_OR_NEVER)]
Quantity = Annotated[str, StringConstraints(pattern=QUANTITY)]
EbsVolumeSize = Annotated[str, StringConstraints(pattern=EBS_VOLUME_SIZE)]
SemverTag = Annotated[str, StringConstraints(pattern=SEMVER_TAG)]
Al2023Alias = Annotated[str, StringConstraints(pattern=AL2023_ALIAS)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Cron = Annotated[str, StringConstraints(pattern=CRON)]
BudgetNodes = Annotated[str, StringConstraints(pattern=BUDGET_NODES)]
BudgetDuration = Annotated[str, StringConstraints(pattern=BUDGET_DURATION)]
ClusterName = Annotated[str, StringConstraints(pattern=CLUSTER_NAME, max_length=100)]


def version_tuple(tag: str) -> tuple[int, int, int]:
    """``'v0.16.2'`` -> ``(0, 16, 2)``; the tag is already validated by :data:`SemverTag`."""
    match = re.match(SEMVER_TAG, tag)
    if match is None:
        raise ValueError(f"not a release tag: {tag!r}")
    major, minor, patch = tag[1:].split(".")
    return int(major), int(minor), int(patch)


__all__ = [
    "PATTERN_WORDS",
    "Al2023Alias",
    "BudgetDuration",
    "BudgetNodes",
    "ClusterName",
    "Cron",
    "DnsLabel",
    "DnsSubdomain",
    "Duration",
    "DurationOrNever",
    "EbsVolumeSize",
    "LabelValue",
    "NonEmpty",
    "QualifiedName",
    "Quantity",
    "SemverTag",
    "version_tuple",
]
