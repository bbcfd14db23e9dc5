"""Real servers on 127.0.0.1 standing in for an SMTP relay and HTTP APIs in tests."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Certificate:
    cert_pem: str
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed(tmp_path: Path) -> Certificate:
    """A certificate for 127.0.0.1, its own CA (the plugin is given it as trusted)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_text(pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(pem, cert_file, key_file)


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content
                                                or envelope.content, policy=default))
        return "250 OK"


@contextmanager
def smtp_server(mode: str = "none", cert: Certificate | None = None,
                users: dict[str, str] | None = None):
    """Run aiosmtpd on 127.0.0.1 (`mode`: none, starttls or ssl); yields (port, mailbox)."""
    box = Mailbox()
    port = free_port()

    def authenticate(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and users is not None:
            login = auth_data.login.decode()
            if users.get(login) == auth_data.password.decode():
                box.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    kw: dict[str, Any] = {"authenticator": authenticate, "auth_require_tls": mode != "none"}
    if users is None:
        kw.pop("authenticator")
    if mode == "starttls":
        kw.update(tls_context=cert.server_context(), require_starttls=True)
        controller = Controller(box, hostname="127.0.0.1", port=port, **kw)
    elif mode == "ssl":
        controller = Controller(box, hostname="127.0.0.1", port=port,
                                ssl_context=cert.server_context(), **kw)
    else:
        controller = Controller(box, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Received], tuple[int, Any]]


@contextmanager
def http_server(respond: Responder | None = None):
    """A threaded HTTP server on 127.0.0.1 recording every request.

    `respond(request)` returns (status, JSON-able body); default 200 {"ok": true}.
    Yields (base_url, received list).
    """
    received: list[Received] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {k.lower(): v for k, v in self.headers.items()}
            req = Received(self.command, self.path, headers,
                           self.rfile.read(length) if length else b"")
            with lock:
                received.append(req)
            try:
                status, body = respond(req) if respond else (200, {"ok": True})
            except Exception as exc:  # a bug in a fake: answer it rather than hang up
                status, body = 500, {"fake_server_error": repr(exc)}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
