"""The only code that talks to the Kubernetes API: kubeconfig, a small synchronous client,
and narrow readers that return plain dicts. Nothing outside ``cli/`` imports it."""
