"""An EC2NodeClass's ``userData`` as the node reads it: nodeadm NodeConfig parts and shell
scripts, and whether the AMI family is AL2023 (where only nodeadm boots the node).

AL2023 user data is a MIME multi-part archive (``application/node.eks.aws`` parts are
NodeConfig YAML, ``text/x-shellscript`` parts run at boot), or a bare NodeConfig or script;
Karpenter merges its own NodeConfig part into it (aws/karpenter-provider-aws@v1.14.1
``pkg/providers/amifamily/bootstrap/nodeadm.go``). Pure: text in, parts out.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from typing import Any

import yaml

from eks_gpu.names import GROUP_EKS_NODE

NODECONFIG_TYPE = f"application/{GROUP_EKS_NODE}"
SCRIPT_TYPE = "text/x-shellscript"
USER_DATA_PATH = ".spec.userData"


@dataclass(frozen=True)
class UserDataParts:
    """The NodeConfig documents and shell scripts of one ``userData``."""

    node_configs: tuple[dict[str, Any], ...]
    scripts: tuple[str, ...]


def _node_config(text: str) -> dict[str, Any] | None:
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):  # unreadable, or nested past the stack
        return None
    if isinstance(document, dict) and document.get("kind") == "NodeConfig":
        return document
    return None


def _payload(part: email.message.Message) -> str:
    raw = part.get_payload(decode=True)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    return str(part.get_payload())


def parse_user_data(text: str) -> UserDataParts:
    """The parts of ``text``: MIME multi-part, else one bare NodeConfig or script."""
    configs: list[dict[str, Any]] = []
    scripts: list[str] = []
    if text.lstrip().startswith("MIME-Version"):
        message = email.message_from_string(text.lstrip(), policy=email.policy.compat32)
        for part in message.walk():
            if part.is_multipart():
                continue
            body, kind = _payload(part), part.get_content_type()
            if kind == NODECONFIG_TYPE:
                config = _node_config(body)
                configs += [config] if config else []
            elif kind == SCRIPT_TYPE or body.startswith("#!"):
                scripts.append(body)
        return UserDataParts(tuple(configs), tuple(scripts))
    config = _node_config(text)
    return UserDataParts((config,), ()) if config else UserDataParts((), (text,))


def node_class_spec(node_class: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (empty when absent or not a mapping)."""
    spec = node_class.get("spec")
    return spec if isinstance(spec, dict) else {}


def user_data_of(node_class: dict[str, Any]) -> UserDataParts | None:
    """The parsed ``spec.userData``, or None when there is none."""
    text = node_class_spec(node_class).get("userData")
    return parse_user_data(text) if isinstance(text, str) and text.strip() else None


def is_al2023(node_class: dict[str, Any]) -> bool:
    """``amiFamily: AL2023``, or every AMI selector term an ``al2023@`` alias."""
    spec = node_class_spec(node_class)
    if spec.get("amiFamily") is not None:
        return spec.get("amiFamily") == "AL2023"
    terms = [t for t in spec.get("amiSelectorTerms") or [] if isinstance(t, dict)]
    aliases = [str(t.get("alias", "")) for t in terms]
    return bool(aliases) and all(alias.startswith("al2023@") for alias in aliases)


def kubelet_configs(parts: UserDataParts) -> list[dict[str, Any]]:
    """``spec.kubelet.config`` of every NodeConfig part (mappings only)."""
    out = []
    for config in parts.node_configs:
        spec = config.get("spec") if isinstance(config.get("spec"), dict) else {}
        kubelet = (spec or {}).get("kubelet")
        found = kubelet.get("config") if isinstance(kubelet, dict) else None
        if isinstance(found, dict):
            out.append(found)
    return out


__all__ = [
    "NODECONFIG_TYPE",
    "SCRIPT_TYPE",
    "USER_DATA_PATH",
    "UserDataParts",
    "is_al2023",
    "kubelet_configs",
    "node_class_spec",
    "parse_user_data",
    "user_data_of",
]
