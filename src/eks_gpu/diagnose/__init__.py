"""Diagnosis of a cluster's GPU capacity: pure rules over a ClusterState (``doctor``)."""
