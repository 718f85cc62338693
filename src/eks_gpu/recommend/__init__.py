"""Sizing a workload and choosing the GPU instance types that hold it (pure)."""
