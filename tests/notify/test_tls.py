"""The SMTP connection: TLS verifies the server's certificate, STARTTLS or implicit, then logs in."""

from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.notify.config import SETTINGS
from services.notify.delivery import open_connection
from services.notify.service import SettingsError, SmtpSettings, check_settings
from shared.settings import load
from tests.helpers.processes import free_port
from tests.notify.world import Mailbox


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: trusted only when given as SMTP_CA_FILE."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def only_alice(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"alice",
        b"s3cret",
    )
    return AuthResult(success=ok)


def settings(port: int, security: str, ca_file=None, username=None, password=None) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", port, security, username, password, "n@x.tw", "n", 5, ca_file)


@pytest.fixture
def starttls_server(certificate):
    port = free_port()
    controller = Controller(
        Mailbox(),
        hostname="127.0.0.1",
        port=port,
        tls_context=certificate[1],
        require_starttls=True,
        authenticator=only_alice,
        auth_require_tls=True,
    )
    controller.start()
    yield port
    controller.stop()


def test_starttls_refuses_a_certificate_it_cannot_verify(starttls_server):
    with pytest.raises(ssl.SSLCertVerificationError):
        open_connection(settings(starttls_server, "starttls", username="alice", password="s3cret"))


def test_starttls_with_a_trusted_ca_logs_in_and_sends(starttls_server, certificate):
    connection = open_connection(
        settings(starttls_server, "starttls", str(certificate[0]), username="alice", password="s3cret")
    )
    try:
        assert connection.sock.version().startswith("TLS")
        assert connection.sendmail("n@x.tw", ["a@x.tw"], b"Subject: ok\r\n\r\nok\r\n") == {}
    finally:
        connection.quit()


def test_implicit_tls_verifies_too(certificate):
    port = free_port()
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port, ssl_context=certificate[1])
    controller.start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            open_connection(settings(port, "ssl"))
        connection = open_connection(settings(port, "ssl", str(certificate[0])))
        assert connection.noop()[0] == 250
        connection.quit()
    finally:
        controller.stop()


def test_a_password_is_never_sent_in_clear_to_another_machine():
    sources = {"INTAKE_URL": "http://127.0.0.1:8001", "KPI_URL": "http://127.0.0.1:8002", "INTAKE_TOKEN": "t"}
    config = load(SETTINGS, environ=sources)
    check_settings(
        {**config, "SMTP_USERNAME": "alice", "SMTP_SECURITY": "starttls", "SMTP_HOST": "mail.example.tw"}
    )
    check_settings({**config, "SMTP_USERNAME": "alice", "SMTP_SECURITY": "none", "SMTP_HOST": "127.0.0.1"})
    with pytest.raises(SettingsError, match="travel in clear"):
        check_settings(
            {**config, "SMTP_USERNAME": "alice", "SMTP_SECURITY": "none", "SMTP_HOST": "mail.example.tw"}
        )
    with pytest.raises(SettingsError, match="INTAKE_TOKEN is required"):
        load(SETTINGS, environ={**sources, "INTAKE_TOKEN": ""})
    with pytest.raises(SettingsError, match="SMTP_SECURITY='tls': must be one of starttls, ssl, none"):
        load(SETTINGS, environ={**sources, "SMTP_SECURITY": "tls"})
