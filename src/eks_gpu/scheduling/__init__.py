"""Scheduling: Karpenter's requirement algebra, taints, resource fit and instance choice (pure)."""
