"""EC2NodeClass: which AMI GPU nodes boot, with what IAM, network, disks and user data."""

from __future__ import annotations

from typing import Any

from eks_gpu.config.nodeclass import AmiSelection, NodeClass, RootVolume
from eks_gpu.names import API_VERSION_EC2NODECLASS, TAG_DISCOVERY
from eks_gpu.render.metadata import object_meta
from eks_gpu.render.userdata import render_user_data


def default_role(cluster_name: str) -> str:
    """The node role name Karpenter's getting-started guide creates for a cluster."""
    return f"KarpenterNodeRole-{cluster_name}"


def _ami_fields(ami: AmiSelection) -> dict[str, Any]:
    """``amiSelectorTerms`` (and ``amiFamily``, which only name-based selection needs)."""
    if ami.alias is not None:
        return {"amiSelectorTerms": [{"alias": ami.alias}]}
    term: dict[str, str] = {"name": str(ami.name)}
    if ami.owner is not None:
        term["owner"] = ami.owner
    return {"amiFamily": "AL2023", "amiSelectorTerms": [term]}


def _root_volume(volume: RootVolume) -> dict[str, Any]:
    ebs = volume.model_dump(exclude={"device_name"}, exclude_none=True)
    ebs["deleteOnTermination"] = True
    return {"deviceName": volume.device_name, "rootVolume": True, "ebs": ebs}


def render_nodeclass(node_class: NodeClass, cluster_name: str) -> dict[str, Any]:
    """The EC2NodeClass object for ``node_class`` in cluster ``cluster_name``."""
    discovery = {TAG_DISCOVERY: cluster_name}
    spec: dict[str, Any] = _ami_fields(node_class.ami)
    if node_class.instance_profile is not None:
        spec["instanceProfile"] = node_class.instance_profile
    else:
        spec["role"] = node_class.role or default_role(cluster_name)
    spec["subnetSelectorTerms"] = [{"tags": node_class.subnet_selector_tags or discovery}]
    spec["securityGroupSelectorTerms"] = [
        {"tags": node_class.security_group_selector_tags or discovery}
    ]
    if node_class.instance_store_policy is not None:
        spec["instanceStorePolicy"] = node_class.instance_store_policy
    spec["blockDeviceMappings"] = [_root_volume(node_class.root_volume)]
    spec["metadataOptions"] = node_class.metadata_options.model_dump()
    if node_class.kubelet is not None:
        spec["kubelet"] = node_class.kubelet.model_dump(exclude_none=True)
    user_data = render_user_data(node_class.user_data)
    if user_data is not None:
        spec["userData"] = user_data
    if node_class.tags:
        spec["tags"] = dict(sorted(node_class.tags.items()))
    return {
        "apiVersion": API_VERSION_EC2NODECLASS,
        "kind": "EC2NodeClass",
        "metadata": object_meta(node_class.name),
        "spec": spec,
    }


__all__ = ["default_role", "render_nodeclass"]
