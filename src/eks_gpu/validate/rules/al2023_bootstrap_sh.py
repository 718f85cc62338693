"""``al2023-bootstrap-sh``: AL2023 user data that calls ``/etc/eks/bootstrap.sh``.

AL2023 EKS AMIs boot with nodeadm only; ``/etc/eks/bootstrap.sh`` (the AL2 script, which
many guides still paste) does not exist there (amazon-eks-ami ``templates/al2023``). The
script part fails, and whatever it was meant to configure never happens; with ``set -e`` the
rest of the script is skipped too. Karpenter already passes cluster, labels and taints to
nodeadm; kubelet settings go into a NodeConfig part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.user_data import USER_DATA_PATH, is_al2023, user_data_of

BOOTSTRAP_SH = re.compile(r"/etc/eks/bootstrap\.sh")


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for node_class in manifests.nodeclasses:
        parts = user_data_of(node_class)
        if parts is None or not is_al2023(node_class):
            continue
        if any(BOOTSTRAP_SH.search(script) for script in parts.scripts):
            yield RULE.finding(
                node_class,
                USER_DATA_PATH,
                "the AL2023 user data calls /etc/eks/bootstrap.sh, which AL2023 AMIs do not "
                "have (they boot with nodeadm): that part of the script fails",
                "drop the bootstrap.sh call (Karpenter configures nodeadm itself); put kubelet "
                "flags in a NodeConfig part (application/node.eks.aws) or in spec.kubelet",
            )


RULE = Rule(
    id="al2023-bootstrap-sh",
    severity="error",
    summary="AL2023 user data that calls /etc/eks/bootstrap.sh (AL2023 has only nodeadm)",
    check=_check,
)

__all__ = ["RULE"]
