"""Run a program in a private network namespace, reachable only through forwarded ports.

Karpenter v1.14.1 binds its metrics and health ports on every interface, with no option to
choose the address (``pkg/operator/operator.go``). In a network namespace of its own, "every
interface" is that namespace's loopback and nothing else, so nothing is exposed on the host.
The launcher needs root (CAP_SYS_ADMIN) for ``unshare(CLONE_NEWNET)``.

``python -m controlplane.nsbridge --out 6443:127.0.0.1:41234 --in 41235:8081 -- PROGRAM ARGS``

- ``--out PORT:HOST:HOSTPORT``: 127.0.0.1:PORT inside leads to HOST:HOSTPORT outside (the API
  server: TLS passes through untouched, and its certificate names 127.0.0.1);
- ``--in HOSTPORT:PORT``: 127.0.0.1:HOSTPORT outside leads to 127.0.0.1:PORT inside (health).

Namespaces belong to threads: a helper thread started *before* the switch stays outside and
opens the outbound connections; host-side listeners are opened before the switch too.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def _serve(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = connect()
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _listen(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def _enter_private_network() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "unshare(CLONE_NEWNET) failed (needs root or CAP_SYS_ADMIN)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # `ip link set lo up`
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def _die_with_parent() -> None:  # in the child, between fork and exec
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nsbridge", description=__doc__)
    parser.add_argument("--out", action="append", default=[], metavar="PORT:HOST:HOSTPORT")
    parser.add_argument("--in", dest="inward", action="append", default=[], metavar="HOSTPORT:PORT")
    parser.add_argument("program", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    program = args.program[1:] if args.program[:1] == ["--"] else args.program

    outside = ThreadPoolExecutor(max_workers=1)
    outside.submit(lambda: None).result()  # its one thread now exists, in the host namespace
    inward = [(_listen(int(h)), int(p)) for h, p in (spec.split(":") for spec in args.inward)]
    _enter_private_network()
    for spec in args.out:
        port, host, host_port = spec.split(":")
        target = (host, int(host_port))
        connect = lambda t=target: outside.submit(socket.create_connection, t).result()  # noqa: E731
        threading.Thread(target=_serve, args=(_listen(int(port)), connect), daemon=True).start()
    for listener, port in inward:
        connect = lambda p=port: socket.create_connection(("127.0.0.1", p))  # noqa: E731
        threading.Thread(target=_serve, args=(listener, connect), daemon=True).start()

    proc = subprocess.Popen(program, preexec_fn=_die_with_parent)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _: proc.send_signal(s))
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
