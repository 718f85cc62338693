"""The GPU inventory (``eks-gpu status``): pure functions over a ClusterState, no I/O."""
