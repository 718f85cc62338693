"""AL2023 user data: a MIME multi-part archive that nodeadm and Karpenter both understand.

Karpenter appends its own NodeConfig part (cluster, taints, labels, RAID0) after ours and its
values win where both set a field, so ours carries only what Karpenter leaves alone: extra
kubelet settings, and an optional shell script. By default there is neither, and no user data:
nodeadm already pulls images in parallel with no limit (``serializeImagePulls: false``, no
``maxParallelImagePulls``; amazon-eks-ami ``nodeadm/internal/kubelet/config.go``).
"""

from __future__ import annotations

import yaml

from eks_gpu.config.nodeclass import UserData
from eks_gpu.names import API_VERSION_NODECONFIG, GROUP_EKS_NODE

BOUNDARY = "EKSGPU-BOUNDARY"


def _node_config(kubelet_config: dict[str, object]) -> str:
    document = {
        "apiVersion": API_VERSION_NODECONFIG,
        "kind": "NodeConfig",
        "spec": {"kubelet": {"config": dict(sorted(kubelet_config.items()))}},
    }
    text: str = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    return text


def _part(content_type: str, body: str) -> str:
    return f"--{BOUNDARY}\nContent-Type: {content_type}\n\n{body.rstrip()}\n"


def render_user_data(user_data: UserData) -> str | None:
    """The MIME archive for ``user_data``, or None when there is nothing to add."""
    parts: list[str] = []
    if user_data.kubelet_config:
        parts.append(_part(f"application/{GROUP_EKS_NODE}", _node_config(user_data.kubelet_config)))
    if user_data.script:
        parts.append(_part('text/x-shellscript; charset="us-ascii"', user_data.script))
    if not parts:
        return None
    header = f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{BOUNDARY}"\n\n'
    return header + "\n".join(parts) + f"\n--{BOUNDARY}--\n"


__all__ = ["BOUNDARY", "render_user_data"]
