"""Alerts that reach a person: the text written to ``reports/alerts/`` sent by e-mail (SMTP) and/or to a
chat webhook (Slack, Microsoft Teams).

Each channel is tried on its own and never raises: a failure is logged (without the SMTP password or the
webhook URL's path, which is that URL's credential) and returned as an ``Outcome`` the caller records.

The webhook body is ``{"text": "<alert>"}``: the one shape both a Slack incoming webhook and a Microsoft
Teams incoming webhook (the Office 365 connector) accept. Both render its Markdown code block.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from ingestion.config import Settings, SmtpSecurity
from ingestion.http_retry import RETRYABLE_STATUS, Retry, RetryPolicy, with_retries

log = logging.getLogger(__name__)

# Bounded so that a dead server cannot stall the run-failure sensor past Dagster's evaluation timeout
# (60 s, after which the failure is evaluated, written and sent again): 10 s per SMTP socket operation,
# 3 webhook attempts of at most 5 s each with at most 1 s and 2 s between them.
SMTP_TIMEOUT = 10.0
WEBHOOK_TIMEOUT = 5.0
WEBHOOK_POLICY = RetryPolicy(max_attempts=3, backoff_base=1.0, backoff_max=4.0)
# Slack cuts a message's text at 40,000 characters and Teams refuses a message over about 28 KB.
WEBHOOK_MAX_CHARS = 20_000
SUBJECT_CHARS = 200
ERROR_BODY_CHARS = 200


@dataclass(frozen=True)
class Outcome:
    """What became of one channel: sent or not, and where to / why not (never a secret)."""

    channel: str  # "email" or "webhook"
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.channel} {'sent' if self.ok else 'FAILED'}: {self.detail}"


class WebhookError(Exception):
    """The webhook refused the message, or every attempt failed."""


def redact_url(url: str) -> str:
    """The URL without what makes it a credential (user info, path, query): ``https://hooks.slack.com/...``."""
    try:
        parts = urlsplit(url)
        netloc = (parts.hostname or "?") + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a port that is not a number
        return "<webhook URL>"
    hidden = "/..." if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{netloc}{hidden}"


def _url_secrets(url: str) -> list[str | None]:
    """The parts of a webhook URL that must not reach a message: path, query, password."""
    try:
        parts = urlsplit(url)
        return [parts.path if parts.path.strip("/") else None, parts.query, parts.password]
    except ValueError:
        return []


def _scrub(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _failed(channel: str, detail: str, secrets: Iterable[str | None]) -> Outcome:
    outcome = Outcome(channel, False, _scrub(detail, secrets))
    log.warning("alert %s", outcome)
    return outcome


def _sent(channel: str, detail: str) -> Outcome:
    outcome = Outcome(channel, True, detail)
    log.info("alert %s", outcome)
    return outcome


def send_email(subject: str, text: str, *, host: str, port: int, security: SmtpSecurity, sender: str,
               recipients: Sequence[str], user: str | None = None, password: str | None = None,
               timeout: float = SMTP_TIMEOUT) -> Outcome:
    """Send ``text`` as a plain-text e-mail. ``security``: ``starttls`` (refuses a server that does not offer
    it rather than fall back to plain text), ``ssl`` (TLS from the first byte) or ``none`` (a local relay)."""
    where = f"{host}:{port} ({security})"
    to = ", ".join(recipients)
    try:
        message = EmailMessage()
        message["Subject"] = " ".join(subject.split())[:SUBJECT_CHARS]  # one line: no header injection
        message["From"] = sender
        message["To"] = to
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        message.set_content(text)
        context = ssl.create_default_context()
        client = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if security == "ssl"
                  else smtplib.SMTP(host, port, timeout=timeout))
        with client:
            if security == "starttls":
                client.starttls(context=context)
            if user:
                client.login(user, password or "")
            refused = client.send_message(message)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the run and the other channel go on
        return _failed("email", f"not sent to {to} via {where}: {_describe(exc)}", [password])
    detail = f"to {to} via {where}"
    if refused:  # the server took the message for some recipients only
        detail += f"; refused for {', '.join(sorted(refused))}"
    return _sent("email", detail)


def chat_text(text: str, limit: int = WEBHOOK_MAX_CHARS) -> str:
    """``text`` cut to what a chat message holds, closing the code block the cut may leave open."""
    if len(text) <= limit:
        return text
    note = "\n```\n(cut short: the full alert is in the e-mail and in reports/alerts/)"
    return text[: limit - len(note)] + note


def post_webhook(url: str, text: str, *, policy: RetryPolicy = WEBHOOK_POLICY, timeout: float = WEBHOOK_TIMEOUT,
                 sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """POST ``{"text": text}`` to a Slack or Teams incoming webhook, retrying on 429/5xx and lost connections.

    urllib rather than requests: urllib3 logs every request's URL at DEBUG, and this URL's path is a secret.
    A retry after a timeout may post the message twice; for an alert, twice beats never.
    """
    where = redact_url(url)
    secrets = [url, *_url_secrets(url)]
    body = json.dumps({"text": chat_text(text)}, ensure_ascii=False).encode("utf-8")

    def attempt(number: int) -> int | Retry:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            answer = exc.read(ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
            exc.close()
            problem = f"HTTP {exc.code}" + (f" {answer!r}" if answer else "")
            if exc.code in RETRYABLE_STATUS:
                # Retry-After is not honoured: Slack may ask for minutes, more than a sensor may take.
                return Retry(problem)
            raise WebhookError(problem) from None
        except urllib.error.URLError as exc:  # no connection: refused, unknown host, connect timeout
            return Retry(f"no connection: {exc.reason}")
        except OSError as exc:  # the connection broke or timed out mid-answer
            return Retry(_describe(exc))

    try:
        status = with_retries(attempt, policy, sleep=sleep, on_retry=lambda: None, give_up=WebhookError)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the run and the other channel go on
        return _failed("webhook", f"not posted to {where}: {exc}", secrets)
    return _sent("webhook", f"posted to {where} (HTTP {status})")


def send_alert(settings: Settings, subject: str, text: str) -> list[Outcome]:
    """Send one alert to every configured channel; one ``Outcome`` per channel (none when none is set)."""
    outcomes = []
    if settings.alert_smtp_host:
        outcomes.append(send_email(
            subject, text, host=settings.alert_smtp_host, port=settings.smtp_port,
            security=settings.alert_smtp_security, sender=settings.email_sender or "",
            recipients=settings.alert_email_to, user=settings.alert_smtp_user,
            password=settings.alert_smtp_password.get_secret_value() if settings.alert_smtp_password else None,
        ))
    if settings.alert_webhook_url:
        outcomes.append(post_webhook(settings.alert_webhook_url.get_secret_value(), text, policy=WEBHOOK_POLICY))
    return outcomes
