"""Self-signed TLS for ``jirakit sandbox serve --tls``: a throwaway CA and a server cert.

Several real clients only speak https (Airbyte's source-jira and Singer's tap-jira put
``https://`` in front of the domain). `make_self_signed` writes a CA certificate and a
server certificate signed by it, for ``127.0.0.1`` (an IP SAN) and ``localhost``; clients
trust the server through the CA file::

    files = make_self_signed(Path(tmpdir))
    uvicorn.Config(app, **files.uvicorn_kwargs())            # ssl_certfile / ssl_keyfile
    REQUESTS_CA_BUNDLE=<files.ca> SSL_CERT_FILE=<files.ca>    # requests, httpx, urllib
    httpx.Client(verify=files.client_context())

Keys are ECDSA P-256 (fast to generate); private keys are written with mode 0600.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsFiles", "make_self_signed"]


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the server certificate, its private key and the CA certificate (PEM)."""

    cert: Path
    key: Path
    ca: Path

    def uvicorn_kwargs(self) -> dict[str, str]:
        """What ``uvicorn.Config``/``uvicorn.run`` need to serve https."""
        return {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)}

    def client_env(self) -> dict[str, str]:
        """Environment variables that make requests/httpx/OpenSSL clients trust the CA."""
        return {"REQUESTS_CA_BUNDLE": str(self.ca), "SSL_CERT_FILE": str(self.ca)}

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` trusting only the CA (``httpx.Client(verify=...)``)."""
        return ssl.create_default_context(cafile=str(self.ca))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jirakit sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(hostnames: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def make_self_signed(
    dir: Path,
    hostnames: Sequence[str] = ("127.0.0.1", "localhost"),
    *,
    days: int = 30,
) -> TlsFiles:
    """Write ``ca.pem``, ``cert.pem`` and ``key.pem`` into ``dir`` (created if needed).

    ``hostnames``: the server certificate's SANs (IP addresses become IP SANs).
    The CA's own key is not kept: nothing else can be signed with it.
    """
    if not hostnames:
        raise ValueError("make_self_signed needs at least one hostname")
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    not_before, not_after = now - timedelta(hours=1), now + timedelta(days=days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("jirakit sandbox CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(hostnames), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    files = TlsFiles(cert=dir / "cert.pem", key=dir / "key.pem", ca=dir / "ca.pem")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(files.key, key)
    return files
