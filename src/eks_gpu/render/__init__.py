"""Config -> Kubernetes objects: one module per object family, plain dicts, deterministic."""
