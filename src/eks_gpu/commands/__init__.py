"""One function per command: composes the pure core with the edge (loaders, cluster) and
returns a frozen result object with ``to_json()`` and its exit code. Never prints."""
