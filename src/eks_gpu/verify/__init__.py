"""``eks-gpu verify``: the guide's verification ladder, run against a live cluster.

Pure parts (what to check, how to judge a probe's output, what a stall is) sit beside the one
I/O module, :mod:`eks_gpu.verify.run`, which drives the cluster through ``cluster/``.
"""
