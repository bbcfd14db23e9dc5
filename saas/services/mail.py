"""System mail (invitations, password resets): SMTP from `MAIL_URL`, else the log.

Customer-facing messages go through channel plugins instead; this is the service's own
voice to staff.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

log = logging.getLogger("saas.mail")


def send_system_mail(mail_url: str | None, sender: str, to: str, subject: str,
                     body: str) -> None:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    if not mail_url:
        log.warning("MAIL_URL not set; mail to %s not sent:\n%s\n%s", to, subject, body)
        return
    url = urlparse(mail_url)
    port = url.port or (465 if url.scheme == "smtps" else 25)
    cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with cls(url.hostname or "127.0.0.1", port, timeout=20) as smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(msg)
