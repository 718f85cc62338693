"""The TLS side of a kubeconfig context: whom to trust, and which client certificate to show."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from eks_gpu.cluster.kubeconfig import KubeContext
from eks_gpu.errors import ClusterAccessError


def _load_client_cert(tls: ssl.SSLContext, cert_pem: str, key_pem: str, where: str) -> None:
    """``ssl`` reads certificates only from files: write them to a private temporary folder."""
    with tempfile.TemporaryDirectory(prefix="eks-gpu-tls-") as folder:
        cert, key = Path(folder) / "client.crt", Path(folder) / "client.key"
        cert.write_text(cert_pem, encoding="utf-8")
        key.touch(mode=0o600)
        key.write_text(key_pem, encoding="utf-8")
        try:
            tls.load_cert_chain(cert, key)
        except ssl.SSLError as error:
            raise ClusterAccessError(
                f"{where}: the client certificate and key do not load ({error.reason or error})",
                hint="check that the certificate and key are PEM and belong together",
            ) from None


def ssl_context(
    context: KubeContext, cert_pem: str | None = None, key_pem: str | None = None
) -> ssl.SSLContext:
    """Verify the server against the kubeconfig's CA (system CAs without one), or not at all
    under ``insecure-skip-tls-verify``; present ``cert_pem``/``key_pem`` when given."""
    tls = ssl.create_default_context()
    if context.insecure:
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    elif context.ca_pem is not None:
        tls = _trusting(context, context.ca_pem)
    # Kubernetes' self-signed CAs often lack extensions Python >= 3.13 insists on by default.
    tls.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    if cert_pem is not None and key_pem is not None:
        _load_client_cert(tls, cert_pem, key_pem, context.field("client-certificate"))
    return tls


def _trusting(context: KubeContext, ca_pem: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cadata=ca_pem)
    except ssl.SSLError as error:
        raise ClusterAccessError(
            f"{context.source}: the certificate authority of context {context.context!r} "
            f"does not load ({error.reason or error})",
            hint="check certificate-authority(-data) of its cluster",
        ) from None


__all__ = ["ssl_context"]
