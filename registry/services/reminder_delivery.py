"""How ``authreg remind``'s digests travel: e-mail over one SMTP connection per run, and a POST
to the webhook signed with HMAC-SHA256 and retried.

Transport only: ``reminders`` decides who hears what and writes it; this says whether it
arrived. A recipient that cannot be reached is an answer (why, in words), never an exception
that would end the run before the others were tried; and no answer repeats the SMTP password,
the webhook's secret or its URL's user, password or query.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from typing import Any, TypeVar
from urllib.parse import urlsplit

from authreg.config import ReminderSettings

SIGNATURE_HEADER = "X-Authreg-Signature"  # sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
TIMESTAMP_HEADER = "X-Authreg-Timestamp"  # seconds since the epoch, signed with the body
DELIVERY_HEADER = "X-Authreg-Delivery"  # one id per digest, the same on every retry (and in the body)
Sent = TypeVar("Sent")  # what the caller sends, handed back with its outcome


# ---- e-mail --------------------------------------------------------------------------------


def send_mails(
    outgoing: Sequence[tuple[Sent, EmailMessage]], settings: ReminderSettings
) -> Iterator[tuple[Sent, str | None]]:
    """Each item and None once the SMTP server accepted its message, or why it was not sent.
    One connection for the run; when it cannot be had, every message fails with that reason.
    Lazy: the caller records each outcome before the next message is tried."""
    if not outgoing:
        return
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as error:
        reason = f"SMTP server {settings.smtp_host}:{settings.smtp_port} ({settings.smtp_tls}): {_why(error)}"
        yield from ((item, reason) for item, _ in outgoing)
        return
    try:
        for item, mail in outgoing:
            try:
                refused = smtp.send_message(mail)
            except (OSError, smtplib.SMTPException) as error:
                yield item, f"refused by the SMTP server: {_why(error)}"
                continue
            yield item, (f"refused by the SMTP server: {refused}" if refused else None)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _connect(settings: ReminderSettings) -> smtplib.SMTP:
    assert settings.smtp_host is not None
    context = ssl.create_default_context()
    if settings.smtp_tls == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout)
    try:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=context)  # refused, not skipped, when the server offers none
        if settings.smtp_user is not None:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _why(error: BaseException) -> str:
    """The server's code and words, or the error's class and message (a socket's, TLS's)."""
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{error.smtp_code} {text}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values())
    return f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__


# ---- the webhook ---------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256, under the shared secret, of the timestamp, a dot
    and the raw body: a receiver recomputes it, compares in constant time and refuses an old
    timestamp, so a captured request cannot be replayed later nor its body changed."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_signed(
    settings: ReminderSettings, body: bytes, delivery: str, *, sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """None once the webhook answered 2xx, or why not after the last attempt: up to
    ``webhook_attempts``, waiting ``webhook_backoff`` seconds and twice as long each time, while
    another attempt may succeed. Every attempt carries the same delivery id."""
    attempt, (error, again) = 1, _post(settings, body, delivery)
    while error is not None and again and attempt < settings.webhook_attempts:
        sleep(settings.webhook_backoff * 2 ** (attempt - 1))
        attempt += 1
        error, again = _post(settings, body, delivery)
    return None if error is None else f"{error} (attempt {attempt} of {settings.webhook_attempts})"


def _post(settings: ReminderSettings, body: bytes, delivery: str) -> tuple[str | None, bool]:
    """One attempt: no error, or why and whether another attempt may succeed (unreachable, an
    answer that is not HTTP, 408, 429, 5xx); a signed request is never followed elsewhere. It
    is signed when it leaves, by the wall clock: that is what a receiver holds the timestamp
    against, whatever day the run judges."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "authreg-remind",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(settings.webhook_secret, timestamp, body),
        DELIVERY_HEADER: delivery,
    }
    request = urllib.request.Request(settings.webhook_url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=settings.timeout) as response:
            response.read()
            return None, False
    except urllib.error.HTTPError as error:
        error.close()
        status = error.code
        return f"answered {status} {error.reason}", status in (408, 429) or status >= 500
    except http.client.HTTPException as error:  # a broken status line, a cut-off answer: not OSErrors
        return f"not an HTTP answer ({error.__class__.__name__})", True
    except (OSError, ValueError) as error:  # URLError is an OSError; a timeout too
        return f"unreachable: {getattr(error, 'reason', error)}", True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None  # the 3xx itself is the answer: a failure


_OPENER = urllib.request.build_opener(_NoRedirect())


def shown_url(url: str) -> str:
    """The webhook's URL for messages: no user, password, query or fragment (they may hold a
    token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address, bracketed as in the URL
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
