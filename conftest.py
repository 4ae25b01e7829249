"""Shared pytest fixtures: a real SMTP server on loopback for every test, and a scan of
every log record for secrets."""

import email
import email.policy
import logging
import os
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from cvrtracker.lib.logsafe import SafeFormatter


class Mailbox:
    """Messages that reached the loopback SMTP server, parsed."""

    def __init__(self):
        self._lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def body(message: email.message.EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture(scope="session")
def smtp_server():
    box = Mailbox()
    # aiosmtpd cannot report a port the OS picked, so pick a free one first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, box
    controller.stop()


@pytest.fixture(autouse=True)
def mailbox(smtp_server, settings) -> Mailbox:
    """Route all email through the real SMTP server (Django's test setup would use locmem)."""
    controller, box = smtp_server
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 10},
        }
    }
    box.clear()
    return box


# Log hygiene (issue 13, point 7) ---------------------------------------------------
# Every record any test logs at the level production logs (INFO and up) is kept,
# formatted as production formats it, and scanned when the test run ends for secrets:
# tokens, the tests' password, the client secret, the master key, the session keys
# handed out at log-in, and canary strings. One hit fails the run.


class LogScanner(logging.Handler):
    CANARY = "CANARY"
    TOKEN_PREFIXES = ("Atzr|", "Atza|")

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.setFormatter(SafeFormatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []
        self.session_keys: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is logged as such
            self.texts.append(f"unformattable record from {record.name}")

    def secrets(self) -> dict[str, str]:
        from django.conf import settings

        from cvrtracker.test import PASSWORD

        found = {"test password": PASSWORD, "canary": self.CANARY}
        found.update({f"token prefix {p}": p for p in self.TOKEN_PREFIXES})
        if len(settings.LWA_CLIENT_SECRET or "") >= 8:
            found["LWA client secret"] = settings.LWA_CLIENT_SECRET
        if settings.MASTER_KEY:
            found["master key"] = settings.MASTER_KEY
        found.update({f"session key {key[:4]}…": key for key in self.session_keys if key})
        return found

    def hits(self) -> list[str]:
        secrets = self.secrets()
        return [
            f"{what} in: {text[:200]}"
            for text in self.texts
            for what, secret in secrets.items()
            if secret in text
        ]


@pytest.fixture(scope="session", autouse=True)
def log_scanner(django_db_blocker):
    from django.contrib.auth.signals import user_logged_in

    scanner = LogScanner()

    def remember_session(sender, request, user, **kwargs):
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            scanner.session_keys.add(session.session_key)

    user_logged_in.connect(remember_session, dispatch_uid="log_scanner")
    root = logging.getLogger()
    root.addHandler(scanner)
    yield scanner
    root.removeHandler(scanner)
    user_logged_in.disconnect(dispatch_uid="log_scanner")
    hits = scanner.hits()
    size = sum(len(text) for text in scanner.texts)
    summary = f"log scan: {len(scanner.texts)} records, {size / 1e6:.2f} MB, {len(hits)} secrets"
    print(f"\n{summary}")
    if os.environ.get("LOG_SCAN_REPORT"):  # one line per test process, for the figures
        with open(os.environ["LOG_SCAN_REPORT"], "a") as report:
            report.write(summary + "\n")
    if hits:
        pytest.fail("secrets in log records:\n" + "\n".join(hits[:20]), pytrace=False)
