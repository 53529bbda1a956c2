"""Alerts that reach a person (ingestion.notify): a real SMTP server (aiosmtpd) and a real HTTP receiver on
127.0.0.1 receive what is sent; dead or failing ones give a failed outcome, never an exception."""

from __future__ import annotations

import contextlib
import email
import email.policy
import ipaddress
import json
import logging
import socket
import ssl
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ingestion import notify
from ingestion.config import ConfigError, load_settings
from ingestion.http_retry import RetryPolicy
from orchestration.alerts import quality_gate_alert_sensor, write_and_send_alert
from tests.fake_http import LocalServer

PASSWORD = "pw-5f3a9c"  # a test login for the local SMTP server, not a secret
HOOK_PATH = "/services/T0001/B0002/hooksecret7d41"
FAST = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self, index: int = -1) -> email.message.EmailMessage:
        content = self.envelopes[index].content.replace(b"\r\n", b"\n")  # as the recipient's client shows it
        return email.message_from_bytes(content, policy=email.policy.default)


def check_password(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"alerts", PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@contextlib.contextmanager
def smtp_server(**options) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=check_password, **options)
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def quiet_test_server(monkeypatch):
    # The test SMTP server's own DEBUG log shows the AUTH exchange: keep it out of what the tests search for secrets.
    monkeypatch.setattr(logging.getLogger("mail.log"), "disabled", True)


@pytest.fixture
def smtp():
    # Plain SMTP; AUTH without TLS allowed only because this server is local.
    with smtp_server(auth_require_tls=False) as inbox:
        yield inbox


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    directory = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return directory / "cert.pem", directory / "key.pem"


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


class Hook(LocalServer):
    """A webhook receiver: records each POST (path, headers, JSON body) and answers 200 unless told otherwise."""

    def __init__(self) -> None:
        self.answers: deque[tuple[int, bytes]] = deque()
        self.posts: list[tuple[str, dict[str, str], object]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append((self.path, dict(self.headers), json.loads(body)))
                status, answer = hook.answers.popleft() if hook.answers else (200, b"ok")
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)
        self.url = f"{self.root_url}{HOOK_PATH}"


@pytest.fixture
def hook():
    with Hook() as receiver:
        yield receiver


def email_args(port: int, **extra) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": "none", "sender": "pipeline@example.org",
            "recipients": ["a@example.org", "b@example.org"], **extra}


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and "hooksecret7d41" not in text and HOOK_PATH not in text, text


def test_email_reaches_the_smtp_server(smtp):
    outcome = notify.send_email("Run 42 (main_job): FAILED", "Checks: 1 failed\n  FAILED x", **email_args(smtp.port))
    assert outcome.ok, outcome
    assert outcome.detail == f"to a@example.org, b@example.org via 127.0.0.1:{smtp.port} (none)"
    envelope = smtp.envelopes[0]
    assert envelope.mail_from == "pipeline@example.org"
    assert envelope.rcpt_tos == ["a@example.org", "b@example.org"]
    message = smtp.message()
    assert message["Subject"] == "Run 42 (main_job): FAILED"
    assert message["To"] == "a@example.org, b@example.org"
    assert message.get_content() == "Checks: 1 failed\n  FAILED x\n"


def test_email_logs_in_and_never_shows_the_password(smtp, caplog):
    caplog.set_level(logging.DEBUG)
    good = notify.send_email("s", "t", **email_args(smtp.port, user="alerts", password=PASSWORD))
    bad = notify.send_email("s", "t", **email_args(smtp.port, user="alerts", password=PASSWORD + "-wrong"))
    assert good.ok and len(smtp.envelopes) == 1
    assert not bad.ok and "SMTPAuthenticationError" in bad.detail, bad
    assert_no_secrets(caplog.text, str(good), str(bad))


def test_starttls_is_required_not_skipped(smtp):
    # The test server offers no STARTTLS: the message is not sent in plain text instead.
    outcome = notify.send_email("s", "t", **email_args(smtp.port, security="starttls"))
    assert not outcome.ok and "STARTTLS" in outcome.detail, outcome
    assert not smtp.envelopes


@pytest.mark.parametrize("security, options", [("starttls", "tls_context"), ("ssl", "ssl_context")])
def test_email_over_tls_verifies_the_server_and_logs_in(certificate, monkeypatch, caplog, security, options):
    caplog.set_level(logging.DEBUG)
    # aiosmtpd counts only STARTTLS as TLS for AUTH; over implicit TLS it has to be told AUTH is fine.
    extra = {"require_starttls": True} if security == "starttls" else {"auth_require_tls": False}
    with smtp_server(**{options: server_tls(certificate)}, **extra) as inbox:
        untrusted = notify.send_email("s", "t", **email_args(inbox.port, security=security, user="alerts",
                                                             password=PASSWORD))
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust the test certificate from now on
        trusted = notify.send_email("s", "t", **email_args(inbox.port, security=security, user="alerts",
                                                           password=PASSWORD))
    assert not untrusted.ok and "CERTIFICATE_VERIFY_FAILED" in untrusted.detail, untrusted
    assert trusted.ok, trusted
    assert len(inbox.envelopes) == 1 and inbox.message()["Subject"] == "s"
    assert_no_secrets(caplog.text, str(untrusted), str(trusted))


def test_a_dead_smtp_port_is_a_failed_outcome(caplog):
    port = free_port()
    outcome = notify.send_email("s", "t", **email_args(port, user="alerts", password=PASSWORD))
    assert not outcome.ok
    assert outcome.detail.startswith(f"not sent to a@example.org, b@example.org via 127.0.0.1:{port} (none): ")
    assert "ConnectionRefusedError" in outcome.detail
    assert "alert email FAILED: not sent to" in caplog.text
    assert_no_secrets(caplog.text, str(outcome))


def test_webhook_receives_text_json(hook, caplog):
    caplog.set_level(logging.DEBUG)
    outcome = notify.post_webhook(hook.url, "# Run 42 failed\n\n```\nChecks: 1 failed\n```\n")
    assert outcome.ok, outcome
    path, headers, body = hook.posts[0]
    assert path == HOOK_PATH
    assert headers["Content-Type"].startswith("application/json")
    assert body == {"text": "# Run 42 failed\n\n```\nChecks: 1 failed\n```\n"}
    assert outcome.detail == f"posted to http://127.0.0.1:{hook.port}/... (HTTP 200)"
    assert_no_secrets(caplog.text, str(outcome))


def test_webhook_answering_500_is_retried_then_a_failed_outcome(hook, caplog):
    caplog.set_level(logging.DEBUG)
    hook.answers.extend([(500, b"boom"), (500, b"boom")])
    outcome = notify.post_webhook(hook.url, "text", policy=FAST)
    assert not outcome.ok and len(hook.posts) == 2
    assert outcome.detail.endswith("gave up after 2 attempts; last problem: HTTP 500 'boom'"), outcome
    assert "alert webhook FAILED: not posted to" in caplog.text
    assert_no_secrets(caplog.text, str(outcome))


def test_webhook_refusal_is_not_retried(hook):
    hook.answers.append((404, b"no_service"))
    outcome = notify.post_webhook(hook.url, "text", policy=FAST)
    assert not outcome.ok and len(hook.posts) == 1
    assert outcome.detail.endswith("HTTP 404 'no_service'"), outcome


def test_a_dead_webhook_is_a_failed_outcome(caplog):
    url = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
    outcome = notify.post_webhook(url, "text", policy=FAST)
    assert not outcome.ok and "no connection" in outcome.detail, outcome
    assert_no_secrets(caplog.text, str(outcome))


def test_long_alerts_are_cut_to_what_a_chat_message_holds():
    text = "```\n" + "x" * 30_000 + "\n```\n"
    cut = notify.chat_text(text)
    assert len(cut) == notify.WEBHOOK_MAX_CHARS and cut.endswith("the full alert is in the e-mail and in reports/alerts/)")
    assert notify.chat_text("short") == "short"


@pytest.mark.parametrize("url, shown", [
    ("https://hooks.slack.com/services/T0/B0/secret", "https://hooks.slack.com/..."),
    ("https://x.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123?sig=zz", "https://x.webhook.office.com/..."),
    ("https://user:pw@example.org:8443/hook", "https://example.org:8443/..."),
    ("https://example.org", "https://example.org"),
])
def test_redact_url_keeps_only_scheme_and_host(url, shown):
    assert notify.redact_url(url) == shown


def test_alert_settings_are_off_by_default_and_secrets_stay_out_of_repr():
    off = load_settings({})
    assert off.alert_smtp_host is None and off.alert_webhook_url is None and notify.send_alert(off, "s", "t") == []
    on = load_settings({"ALERT_SMTP_HOST": "smtp.example.org", "ALERT_EMAIL_TO": "a@example.org, b@example.org",
                        "ALERT_SMTP_USER": "alerts@example.org", "ALERT_SMTP_PASSWORD": PASSWORD,
                        "ALERT_WEBHOOK_URL": "https://hooks.slack.com" + HOOK_PATH})
    assert (on.smtp_port, on.alert_smtp_security) == (587, "starttls")
    assert on.alert_email_to == ("a@example.org", "b@example.org")
    assert on.email_sender == "alerts@example.org"  # the login, when it is an address
    assert_no_secrets(repr(on))
    assert load_settings({"ALERT_SMTP_SECURITY": "ssl"}).smtp_port == 465
    assert load_settings({"ALERT_SMTP_SECURITY": "none", "ALERT_SMTP_PORT": "2525"}).smtp_port == 2525


@pytest.mark.parametrize("env, name", [
    ({"ALERT_SMTP_SECURITY": "tls"}, "ALERT_SMTP_SECURITY"),
    ({"ALERT_SMTP_PORT": "70000"}, "ALERT_SMTP_PORT"),
    ({"ALERT_SMTP_PORT": "smtp"}, "ALERT_SMTP_PORT"),
    ({"ALERT_SMTP_HOST": "smtp.example.org", "ALERT_EMAIL_FROM": "p@example.org"}, "ALERT_EMAIL_TO"),
    ({"ALERT_SMTP_HOST": "smtp.example.org", "ALERT_EMAIL_TO": "a@example.org"}, "ALERT_EMAIL_FROM"),
    ({"ALERT_EMAIL_TO": "someone"}, "ALERT_EMAIL_TO"),
    ({"ALERT_WEBHOOK_URL": "hooks.slack.com" + HOOK_PATH}, "ALERT_WEBHOOK_URL"),
])
def test_bad_alert_settings_name_the_variable(env, name):
    with pytest.raises(ConfigError, match=name) as error:
        load_settings(env)
    assert_no_secrets(str(error.value))


@pytest.fixture
def failed_run(tmp_path, monkeypatch):
    """A failed run of a one-op job in an ephemeral instance, and the environment its alert is written under."""
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "reports"))

    @dg.op
    def boom():
        raise RuntimeError("the partner file is unreadable")

    @dg.job
    def failing_job():
        boom()

    instance = dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result, instance


def configure(monkeypatch, smtp_port: int, webhook_url: str) -> None:
    for name, value in {"ALERT_SMTP_HOST": "127.0.0.1", "ALERT_SMTP_PORT": str(smtp_port),
                        "ALERT_SMTP_SECURITY": "none", "ALERT_SMTP_USER": "alerts", "ALERT_SMTP_PASSWORD": PASSWORD,
                        "ALERT_EMAIL_FROM": "pipeline@example.org", "ALERT_EMAIL_TO": "oncall@example.org",
                        "ALERT_WEBHOOK_URL": webhook_url}.items():
        monkeypatch.setenv(name, value)


def test_the_alert_sensor_writes_and_sends_its_alert(failed_run, smtp, hook, monkeypatch, caplog, tmp_path):
    result, instance = failed_run
    configure(monkeypatch, smtp.port, hook.url)
    caplog.set_level(logging.DEBUG)
    context = dg.build_run_status_sensor_context(
        sensor_name=quality_gate_alert_sensor.name, dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    context.log.addHandler(caplog.handler)  # the sensor's own logger (shown in the Dagster UI) does not propagate
    quality_gate_alert_sensor(context)

    alert = (tmp_path / "reports" / "alerts" / f"{result.run_id}.md").read_text()
    summary, _, notes = alert.partition("\nNotifications:\n")  # what was sent, then the outcomes
    assert summary.startswith(f"# Run {result.run_id} failed\n\n```\nRun {result.run_id} (failing_job): FAILED\n")
    assert "step failed: boom: RuntimeError: the partner file is unreadable" in summary
    assert notes == (f"- email sent: to oncall@example.org via 127.0.0.1:{smtp.port} (none)\n"
                     f"- webhook sent: posted to http://127.0.0.1:{hook.port}/... (HTTP 200)\n")
    message = smtp.message()
    assert message["Subject"] == f"[inclusive-sdg] Run {result.run_id} (failing_job): FAILED"
    assert smtp.envelopes[0].rcpt_tos == ["oncall@example.org"]
    assert message.get_content() == summary
    assert hook.posts[0][2] == {"text": summary}
    assert "alert email sent" in caplog.text and "alert webhook sent" in caplog.text
    assert_no_secrets(caplog.text, alert)


def test_failing_channels_cost_neither_the_alert_file_nor_each_other(tmp_path, hook, monkeypatch, caplog):
    configure(monkeypatch, free_port(), hook.url)
    monkeypatch.setattr(notify, "WEBHOOK_POLICY", FAST)
    hook.answers.extend([(500, b"down"), (500, b"down")])
    path, outcomes = write_and_send_alert(tmp_path / "alerts", "r1", ["Run r1 (main_job): FAILED"], load_settings(),
                                          logging.getLogger("test"))
    assert [(o.channel, o.ok) for o in outcomes] == [("email", False), ("webhook", False)]
    assert len(hook.posts) == 2  # the dead SMTP server did not stop the webhook
    text = path.read_text()
    assert text.startswith("# Run r1 failed\n\n```\nRun r1 (main_job): FAILED\n```\n\nNotifications:\n- email FAILED: ")
    assert "- webhook FAILED: not posted to http://127.0.0.1" in text
    assert_no_secrets(caplog.text, text)
