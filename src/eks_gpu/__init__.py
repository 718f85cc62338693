"""eks-gpu: the EKS GPU operations guide as software.

Takes an EKS cluster that already runs Karpenter to verified, cost-aware GPU capacity.
Importing this package is cheap on purpose: the CLI's ``--help`` and ``--version`` must
stay instant, so heavy modules are imported only by the commands that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
