"""Shared pytest fixtures: a real SMTP server on loopback for every test."""

import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller


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


@pytest.fixture(autouse=True)
def _usage_buffer():
    """Each test starts and ends with an empty usage buffer (privacy/usage.py): events
    buffered in one test must not be written into the next, whose users differ."""
    from cvrtracker.privacy.usage import usage_discard

    usage_discard()
    yield
    usage_discard()
