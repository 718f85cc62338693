"""Play the AWS side that the local control plane lacks, for docs/tutorial.md only.

On EKS, Karpenter's AWS provider resolves the EC2NodeClass (subnets, security groups, AMIs),
marks it Ready and launches EC2 instances, and each GPU node's kubelet runs the test pods.
The local control plane runs Karpenter with its kwok provider instead, so this script:

1. writes the Ready condition the AWS provider would write on EC2NodeClass ``nodeclass-gpu``
   (as tests/controlplane/test_verify.py does);
2. re-creates NodePool ``nodepool-gpu`` as applied, except that its ``nodeClassRef`` names
   kwok's ``KWOKNodeClass/default``, the only node class the kwok provider launches for (the
   reference is immutable, hence delete and create, by field manager ``aws-standin``;
   ``eks-gpu diff`` shows the difference afterwards);
3. has kwok serve A10G outputs as the logs of the three test pods, as
   tests/controlplane/test_verify.py does (nvidia-smi's recorded on a real g5, the probes'
   built from published figures: tests/data/verify/SOURCE.md).

Usage, from the repository root with the plane up: PYTHONPATH=tests python
docs/tutorial-capture/aws_standin.py KUBECONFIG LOGS_DIR
"""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

from controlplane.karpenter import kwok_nodeclass
from controlplane.kube import ApiError, Kube
from controlplane.kwok_logs import serve_logs

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "verify"
LOGS = {
    "gpu-simple-test": ("nvidia-smi", "simple-a10g.txt"),
    "gpu-pytorch-test": ("pytorch", "pytorch-a10g.txt"),
    "gpu-storage-test": ("gpu-nvme", "storage-g5.txt"),
}
NODECLASS = "/apis/karpenter.k8s.aws/v1/ec2nodeclasses/nodeclass-gpu"
NODEPOOL = "/apis/karpenter.sh/v1/nodepools/nodepool-gpu"
MERGE = "application/merge-patch+json"


def nodeclass_ready(kube: Kube) -> None:
    """The Ready condition the AWS provider writes once it resolved everything."""
    generation = int(kube.get(NODECLASS)["metadata"]["generation"])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {"type": "Ready", "status": "True", "reason": "Ready", "message": "",
             "lastTransitionTime": now, "observedGeneration": generation}  # fmt: skip
    body = {"status": {"conditions": [ready]}}
    kube.request("PATCH", NODECLASS + "/status", body, content_type=MERGE)


def _exists(kube: Kube, path: str) -> bool:
    try:
        kube.get(path)
    except ApiError as error:
        if error.status == 404:
            return False
        raise
    return True


def pool_on_kwok(kube: Kube) -> None:
    """The applied NodePool, launched by the kwok provider (nodeClassRef is immutable)."""
    live = kube.get(NODEPOOL)
    metadata = {k: live["metadata"][k] for k in ("name", "labels") if k in live["metadata"]}
    pool = {"apiVersion": live["apiVersion"], "kind": "NodePool", "metadata": metadata,
            "spec": live["spec"]}  # fmt: skip
    pool["spec"]["template"]["spec"]["nodeClassRef"] = {
        "group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"
    }  # fmt: skip
    kwok_nodeclass(kube)  # KWOKNodeClass/default, Ready by its CRD's defaults
    kube.delete(live)
    while _exists(kube, NODEPOOL):  # finalizers: Karpenter removes its own first
        time.sleep(0.2)
    kube.apply(pool, "aws-standin")


def main(kubeconfig: str, logs_dir: str) -> None:
    kube = Kube.from_kubeconfig(Path(kubeconfig), "admin")
    nodeclass_ready(kube)
    pool_on_kwok(kube)
    for pod, (container, recording) in LOGS.items():
        serve_logs(kube, Path(logs_dir), pod, container, (DATA / recording).read_text())
    print("EC2NodeClass Ready; NodePool on KWOKNodeClass/default; A10G test outputs served")


if __name__ == "__main__":
    main(*sys.argv[1:3])
