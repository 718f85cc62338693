"""LIST of N pods from a local HTTP server: our raw-dict path vs lightkube's typed models.

Why the cluster layer keeps dicts (issue 11: status over 100,000 pods). Run:
``python benchmarks/cluster_list.py [N]`` (default 20,000 pods, pages of 500).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lightkube import Client as LightkubeClient
from lightkube import KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.resources.core_v1 import Pod

from eks_gpu.cluster.client import Client

PAGE = 500


def pod(i: int) -> dict[str, object]:
    return {
        "metadata": {"name": f"p{i}", "namespace": "ml", "uid": f"u{i}", "labels": {"app": "x"}},
        "spec": {
            "nodeName": f"n{i % 5000}",
            "containers": [
                {"name": "c", "image": "img", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
            ],
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
        },
        "status": {"phase": "Running"},
    }


def serve(n: int) -> ThreadingHTTPServer:
    pages = []
    for start in range(0, n, PAGE):
        token = str(start + PAGE) if start + PAGE < n else ""
        body = {"apiVersion": "v1", "kind": "PodList", "metadata": {"continue": token}}
        body["items"] = [pod(i) for i in range(start, min(n, start + PAGE))]
        pages.append(json.dumps(body).encode())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            raw = pages[int(query.get("continue") or 0) // PAGE]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(n: int) -> None:
    server = serve(n)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config = KubeConfig.from_one(cluster=Cluster(server=url), user=User(token="t")).get()
    assert config is not None
    ours = Client(config)
    theirs = LightkubeClient(config)
    for name, run in (
        ("eks-gpu Client.list (dicts)", lambda: ours.list("/api/v1/pods", page_size=PAGE)),
        ("lightkube Client.list(Pod)", lambda: list(theirs.list(Pod, chunk_size=PAGE))),
    ):
        best = min(_timed(run) for _ in range(3))
        print(f"{name:30} {n} pods: {best:.2f} s")
    server.shutdown()


def _timed(run: object) -> float:
    start = time.perf_counter()
    items = run()  # type: ignore[operator]
    assert len(items) > 0
    return time.perf_counter() - start


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
