"""The ``tests`` section of ``eks-gpu.yaml``: the guide's three smoke-test pods.

They prove a pool end to end (nvidia-smi, PyTorch on the GPU, local NVMe scratch); the
deadline makes sure a stuck test never keeps a GPU node, and its bill, alive.
"""

from __future__ import annotations

from pydantic import Field

from eks_gpu.config import defaults as d
from eks_gpu.config.base import ConfigModel
from eks_gpu.config.fields import DnsLabel, DnsSubdomain, NonEmpty, Quantity


class Tests(ConfigModel):
    """The guide's three smoke-test pods."""

    enabled: bool = Field(default=True, description="Render the test pods.")
    namespace: DnsLabel = Field(
        default=d.TESTS_NAMESPACE, description="Their own namespace (Pod Security: restricted)."
    )
    node_pool: DnsSubdomain | None = Field(
        default=None, description="Pool they target (default: the first nodePools entry)."
    )
    cuda_image: NonEmpty = Field(default=d.CUDA_IMAGE, description="Image for nvidia-smi.")
    pytorch_image: NonEmpty = Field(default=d.PYTORCH_IMAGE, description="PyTorch image.")
    deadline_seconds: int = Field(
        default=d.TEST_DEADLINE_SECONDS,
        ge=60,
        le=86400,
        description="activeDeadlineSeconds: a stuck test never holds a GPU node longer.",
    )
    storage_request: Quantity = Field(
        default=d.TEST_STORAGE_REQUEST, description="Local NVMe scratch the storage test asks for."
    )


__all__ = ["Tests"]
