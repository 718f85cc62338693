"""Generate a cluster dump (``ClusterState.to_list()`` format) of N nodes and M pods.

Realistic enough for ``status --from`` timing: Karpenter-labelled GPU nodes (g5, g6, g6e,
p4d, p5; on-demand and spot, three zones, some tainted, some with an unhealthy GPU) and CPU
nodes, NodePools with limits, NodeClaims (some still launching), NodeMetrics, and pods as the
API server returns them (metadata with labels, owner references and annotations, a spec with
containers, env, volumes and tolerations, a status with conditions and container statuses):
GPU pods bound to GPU nodes, CPU pods elsewhere, a few pending GPU pods, across namespaces.

    python benchmarks/gen_dump.py --nodes 5000 --pods 100000 -o /tmp/dump.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
GPU_TYPES = (  # (type, GPUs, GPU name, vCPU, memory GiB)
    ("g5.xlarge", 1, "a10g", 4, 16),
    ("g5.12xlarge", 4, "a10g", 48, 192),
    ("g6.2xlarge", 1, "l4", 8, 32),
    ("g6e.12xlarge", 4, "l40s", 48, 384),
    ("p4d.24xlarge", 8, "a100", 96, 1152),
    ("p5.48xlarge", 8, "h100", 192, 2048),
)
CPU_TYPES = (("m6i.2xlarge", 8, 32), ("c6i.4xlarge", 16, 32), ("m7i.8xlarge", 32, 128))
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
NAMESPACES = (
    "default",
    "ml-train",
    "ml-serve",
    "web",
    "batch",
    "data",
    "monitoring",
    "kube-system",
)
CREATED = "2026-11-20T08:00:00Z"
CAPTURED = "2026-12-01T12:00:00Z"
GPU = "nvidia.com/gpu"


def node(
    name: str,
    pool: str,
    itype: str,
    gpus: int,
    gpu_name: str | None,
    cpu: int,
    mem: int,
    capacity_type: str,
    zone: str,
    rng: random.Random,
) -> Obj:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": itype,
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": zone,
        "karpenter.sh/nodepool": pool,
        "karpenter.sh/capacity-type": capacity_type,
        "karpenter.sh/initialized": "true",
        "karpenter.sh/registered": "true",
        "karpenter.k8s.aws/ec2nodeclass": "default",
        "karpenter.k8s.aws/instance-family": itype.split(".")[0],
        "karpenter.k8s.aws/instance-size": itype.split(".")[1],
        "karpenter.k8s.aws/instance-cpu": str(cpu),
        "karpenter.k8s.aws/instance-memory": str(mem * 1024),
    }
    capacity = {
        "cpu": str(cpu),
        "memory": f"{mem * 1024 * 1024 - 500000}Ki",
        "pods": "110",
        "ephemeral-storage": "104845292Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
    }
    allocatable = {
        **capacity,
        "cpu": f"{cpu * 1000 - 90}m",
        "memory": f"{mem * 1024 * 1024 - 1200000}Ki",
    }
    taints = []
    if gpus:
        labels["karpenter.k8s.aws/instance-gpu-name"] = gpu_name or ""
        labels["karpenter.k8s.aws/instance-gpu-count"] = str(gpus)
        labels["nvidia.com/gpu.present"] = "true"
        capacity[GPU] = str(gpus)
        healthy = gpus - 1 if gpus > 1 and rng.random() < 0.02 else gpus
        allocatable[GPU] = str(healthy)
        taints.append({"key": GPU, "value": "true", "effect": "NoSchedule"})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "resourceVersion": str(rng.randrange(10**6)),
            "creationTimestamp": CREATED,
            "labels": labels,
            "annotations": {
                "karpenter.sh/nodepool-hash": "1234567890",
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {"providerID": f"aws:///{zone}/i-{rng.randrange(16**17):017x}", "taints": taints},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [
                {
                    "type": t,
                    "status": "False",
                    "reason": f"Kubelet Has No {t}",
                    "lastHeartbeatTime": CAPTURED,
                    "lastTransitionTime": CREATED,
                }
                for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
            ]
            + [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "lastHeartbeatTime": CAPTURED,
                    "lastTransitionTime": CREATED,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.{rng.randrange(256)}.1"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.33.1-eks-1234567",
                "containerRuntimeVersion": "containerd://1.7.27",
                "osImage": "Amazon Linux 2023",
            },
        },
    }


def pod(name: str, namespace: str, node_name: str | None, gpus: int, rng: random.Random) -> Obj:
    app = name.rsplit("-", 2)[0]
    resources: Obj = {
        "requests": {
            "cpu": rng.choice(("100m", "250m", "500m", "1", "2")),
            "memory": rng.choice(("128Mi", "256Mi", "1Gi", "4Gi")),
        }
    }
    if gpus:
        resources["limits"] = {GPU: str(gpus)}
    container = {
        "name": "main",
        "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{app}:v1.{rng.randrange(40)}",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "APP", "value": app}],
        "resources": resources,
        "volumeMounts": [
            {
                "name": "kube-api-access",
                "readOnly": True,
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            }
        ],
        "terminationMessagePath": "/dev/termination-log",
        "imagePullPolicy": "IfNotPresent",
    }
    spec: Obj = {
        "containers": [container],
        "restartPolicy": "Always",
        "serviceAccountName": "default",
        "schedulerName": "default-scheduler",
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }
        ],
        "volumes": [
            {
                "name": "kube-api-access",
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
                    ]
                },
            }
        ],
    }
    if gpus:
        spec["tolerations"].append({"key": GPU, "operator": "Exists", "effect": "NoSchedule"})
    phase = "Running"
    conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": CREATED}]
    if node_name:
        spec["nodeName"] = node_name
        conditions += [
            {"type": t, "status": "True", "lastTransitionTime": CREATED}
            for t in ("Initialized", "ContainersReady", "Ready")
        ]
    else:
        phase = "Pending"
        conditions = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/5000 nodes are available: insufficient nvidia.com/gpu.",
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"{rng.randrange(16**32):032x}",
            "resourceVersion": str(rng.randrange(10**7)),
            "creationTimestamp": CREATED,
            "labels": {"app": app, "pod-template-hash": f"{rng.randrange(16**9):09x}"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": CREATED},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-{rng.randrange(16**9):09x}",
                    "uid": "x",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
        "status": {
            "phase": phase,
            "conditions": conditions,
            "hostIP": "10.0.0.1" if node_name else None,
            "podIP": f"10.1.{rng.randrange(256)}.{rng.randrange(256)}" if node_name else None,
            "qosClass": "Burstable",
            "startTime": CREATED,
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": True,
                    "restartCount": 0,
                    "image": container["image"],
                    "started": True,
                    "state": {"running": {"startedAt": CREATED}},
                }
            ]
            if node_name
            else [],
        },
    }


def nodepool(name: str, gpu: bool) -> Obj:
    limits = {"cpu": "100000", "memory": "400000Gi"}
    if gpu:
        limits[GPU] = "2000"
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name, "creationTimestamp": CREATED},
        "spec": {
            "limits": limits,
            "template": {
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": "default",
                    }
                }
            },
        },
    }


PLUGIN = "nvidia-device-plugin-daemonset"
PLUGIN_LOG = "\n".join(
    [
        'I1201 10:01:31.101010       1 main.go:235] "Starting NVIDIA Device Plugin"',
        "I1201 10:01:31.350001       1 server.go:176] Starting GRPC server for 'nvidia.com/gpu'",
        "I1201 10:01:31.353888       1 server.go:117] Registered device plugin for "
        "'nvidia.com/gpu' with Kubelet",
    ]
)


def plugin_objects(gpu_nodes: list[tuple[str, int]]) -> list[Obj]:
    """The device plugin DaemonSet, its pod on every GPU node and each pod's log tail."""
    labels = {"name": "nvidia-device-plugin-ds"}
    out: list[Obj] = [
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": PLUGIN, "namespace": "kube-system", "uid": "ds-plugin"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "tolerations": [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}],
                        "containers": [
                            {
                                "name": "nvidia-device-plugin-ctr",
                                "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.1",
                            }
                        ],
                    },
                },
            },
            "status": {"desiredNumberScheduled": len(gpu_nodes)},
        }
    ]
    for index, (node_name, _) in enumerate(gpu_nodes):
        name = f"{PLUGIN}-{index:05d}"
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": "kube-system",
                    "labels": labels,
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "DaemonSet",
                            "name": PLUGIN,
                            "uid": "ds-plugin",
                            "controller": True,
                        }
                    ],
                },
                "spec": {
                    "nodeName": node_name,
                    "containers": [
                        {
                            "name": "nvidia-device-plugin-ctr",
                            "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.1",
                        }
                    ],
                },
                "status": {
                    "phase": "Running",
                    "containerStatuses": [
                        {
                            "name": "nvidia-device-plugin-ctr",
                            "ready": True,
                            "restartCount": 0,
                            "state": {"running": {"startedAt": CAPTURED}},
                        }
                    ],
                },
            }
        )
        out.append(
            {
                "apiVersion": "eks-gpu.io/v1",
                "kind": "PodLog",
                "metadata": {"name": name, "namespace": "kube-system"},
                "container": "nvidia-device-plugin-ctr",
                "tail": PLUGIN_LOG,
            }
        )
    return out


def nodeclass(name: str) -> Obj:
    ready = ("AMIsReady", "SubnetsReady", "SecurityGroupsReady", "InstanceProfileReady", "Ready")
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": {
            "role": "KarpenterNodeRole-bench",
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
        },
        "status": {"conditions": [{"type": t, "status": "True", "reason": t} for t in ready]},
    }


def pending_event(pod_name: str, namespace: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod_name}.1", "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": namespace},
        "reason": "FailedScheduling",
        "type": "Warning",
        "message": "0/5000 nodes are available: 1000 Insufficient nvidia.com/gpu.",
    }


def dump(nodes: int, pods: int, seed: int = 1) -> Obj:
    """The dump as a ``kind: List`` (header, objects, no logs)."""
    rng = random.Random(seed)
    items: list[Obj] = []
    gpu_nodes: list[tuple[str, int]] = []
    cpu_nodes: list[str] = []
    metrics: list[Obj] = []
    claims: list[Obj] = []
    for index in range(nodes):
        zone = ZONES[index % len(ZONES)]
        capacity_type = "spot" if rng.random() < 0.3 else "on-demand"
        if index % 5 == 0:  # a fifth are GPU nodes
            itype, gpus, gpu_name, cpu, mem = rng.choice(GPU_TYPES)
            name = f"ip-10-0-{index // 250}-{index % 250}.ec2.internal"
            items.append(
                node(name, "gpu", itype, gpus, gpu_name, cpu, mem, capacity_type, zone, rng)
            )
            gpu_nodes.append((name, gpus))
        else:
            itype, cpu, mem = rng.choice(CPU_TYPES)
            name = f"ip-10-1-{index // 250}-{index % 250}.ec2.internal"
            items.append(node(name, "default", itype, 0, None, cpu, mem, capacity_type, zone, rng))
            cpu_nodes.append(name)
        metrics.append(
            {
                "apiVersion": "metrics.k8s.io/v1beta1",
                "kind": "NodeMetrics",
                "metadata": {"name": name},
                "timestamp": CAPTURED,
                "window": "20s",
                "usage": {
                    "cpu": f"{rng.randrange(100, 4000)}m",
                    "memory": f"{rng.randrange(1, mem * 3 // 4 + 2)}Gi",
                },
            }
        )
        claims.append(
            {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodeClaim",
                "metadata": {
                    "name": f"claim-{index}",
                    "labels": {"karpenter.sh/nodepool": "gpu" if index % 5 == 0 else "default"},
                },
                "status": {
                    "nodeName": name,
                    "conditions": [{"type": "Initialized", "status": "True"}],
                },
            }
        )
    for index in range(max(1, nodes // 500)):  # a few claims still launching
        claims.append(
            {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodeClaim",
                "metadata": {
                    "name": f"launching-{index}",
                    "creationTimestamp": CAPTURED,
                    "labels": {"karpenter.sh/nodepool": "gpu"},
                },
                "spec": {"resources": {"requests": {GPU: "1"}}},
                "status": {"conditions": [{"type": "Launched", "status": "Unknown"}]},
            }
        )
    events: list[Obj] = []
    slots = [name for name, gpus in gpu_nodes for _ in range(gpus)]
    rng.shuffle(slots)
    del slots[int(len(slots) * 0.85) :]  # 85% of the GPUs requested, the rest idle
    for index in range(pods):
        namespace = NAMESPACES[index % len(NAMESPACES)]
        if index % 2000 == 1 and gpu_nodes:  # a few GPU pods wait for a node
            items.append(pod(f"trainer-{index}-x", namespace, None, 1, rng))
            events.append(pending_event(f"trainer-{index}-x", namespace))
        elif index % 10 == 0 and slots:  # GPU pods, one GPU each, while GPUs are left
            items.append(pod(f"trainer-{index}-x", namespace, slots.pop(), 1, rng))
        else:
            target = cpu_nodes[index % len(cpu_nodes)] if cpu_nodes else None
            items.append(pod(f"web-{index}-x", namespace, target, 0, rng))
    items += [nodepool("gpu", True), nodepool("default", False), *claims, *metrics]
    items += [nodeclass("gpu"), nodeclass("default"), *events, *plugin_objects(gpu_nodes)]
    header = {
        "apiVersion": "eks-gpu.io/v1",
        "kind": "ClusterDump",
        "metadata": {"name": "cluster-dump"},
        "source": "benchmarks/gen_dump.py",
        "capturedAt": CAPTURED,
        "readKinds": [
            "DaemonSet",
            "Deployment",
            "EC2NodeClass",
            "Event",
            "Node",
            "NodeClaim",
            "NodeMetrics",
            "NodeOverlay",
            "NodePool",
            "Pod",
        ],
        "missing": {},
    }
    return {"apiVersion": "v1", "kind": "List", "items": [header, *items]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    text = json.dumps(dump(args.nodes, args.pods, args.seed), separators=(",", ":"))
    args.output.write_text(text)
    print(
        f"wrote {args.output}: {args.nodes} nodes, {args.pods} pods, {len(text) >> 20} MiB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
