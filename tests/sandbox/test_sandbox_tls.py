"""Self-signed TLS: a CA and a server certificate that clients trust through the CA file."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jirakit.sandbox.tls import TlsFiles, make_self_signed
from needs import require_module


async def server_info(request: Request) -> JSONResponse:
    return JSONResponse({"baseUrl": str(request.base_url), "scheme": request.url.scheme})


APP = Starlette(routes=[Route("/rest/api/3/serverInfo", server_info)])


@contextmanager
def serve_tls(files: TlsFiles) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        APP,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        **files.uvicorn_kwargs(),  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


def test_files_and_certificates(files: TlsFiles):
    assert files.cert.name == "cert.pem" and files.key.name == "key.pem"
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert files.uvicorn_kwargs() == {
        "ssl_certfile": str(files.cert),
        "ssl_keyfile": str(files.key),
    }
    assert files.client_env() == {
        "REQUESTS_CA_BUNDLE": str(files.ca),
        "SSL_CERT_FILE": str(files.ca),
    }


def test_custom_hostnames(tmp_path: Path):
    files = make_self_signed(tmp_path / "nested", ("sandbox.test", "::1"))
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["sandbox.test"]
    assert san.get_values_for_type(x509.IPAddress) == [ip_address("::1")]
    with pytest.raises(ValueError, match="hostname"):
        make_self_signed(tmp_path, ())


def test_https_is_trusted_through_the_ca_file(files: TlsFiles):
    context = ssl.create_default_context(cafile=str(files.ca))
    with serve_tls(files) as port:
        for host in ("127.0.0.1", "localhost"):
            with httpx.Client(verify=context, timeout=5) as client:
                r = client.get(f"https://{host}:{port}/rest/api/3/serverInfo")
            assert r.status_code == 200
            assert r.json()["scheme"] == "https"
        # requests-based clients (pycontribs jira, Airbyte, Singer) trust it via the env
        requests = require_module("requests")
        with pytest.MonkeyPatch.context() as mp:
            for name, value in files.client_env().items():
                mp.setenv(name, value)
            with requests.Session() as session:
                r = session.get(
                    f"https://localhost:{port}/rest/api/3/serverInfo",
                    headers={"Connection": "close"},  # nothing left for uvicorn to wait on
                    timeout=5,
                )
            assert r.status_code == 200
        # without the CA the certificate is refused
        untrusting = ssl.create_default_context()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with pytest.raises(ssl.SSLCertVerificationError, match="CERTIFICATE_VERIFY_FAILED"):
                untrusting.wrap_socket(raw, server_hostname="127.0.0.1")
