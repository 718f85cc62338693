"""Loaders at the edge: the only code besides ``cluster/`` and ``cli/`` that opens files,
reads stdin or the network, and the user cache. Each returns plain values the pure core takes.
"""
