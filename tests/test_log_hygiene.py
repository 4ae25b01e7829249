"""Log hygiene (issue 13, point 7): no secret or Amazon value in a log record, and no
log line forged by user input.

The whole test run is scanned too: conftest.py's LogScanner keeps every record and
fails the run on a token, the tests' password, a session key, the client secret, the
master key or a canary. These tests prove the scanner and the formatter work, and
that a real sync logs none of the seller's content or tokens.
"""

import io
import logging

import pytest
from django.conf import settings
from django.urls import reverse

from conftest import LogScanner
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.amazon.tests.conftest import synced_simulator
from cvrtracker.amazon.tests.helpers import connect_seller, run_until_done
from cvrtracker.lib.logsafe import SafeFormatter, escape_control
from cvrtracker.listings.models import Listing
from cvrtracker.listings.services import listing_content
from cvrtracker.test import PASSWORD, BaseTestCase

FORGED = "alice@example.org\n2026-12-01 09:00:00,000 INFO cvrtracker.accounts Logged in: admin"


def production_formatter() -> logging.Formatter:
    """The formatter settings.LOGGING gives the console handler."""
    spec = settings.LOGGING["formatters"]["plain"]
    formatter = logging.config.BaseConfigurator({}).resolve(spec["()"])(spec["format"])
    assert isinstance(formatter, SafeFormatter)
    return formatter


def test_user_input_cannot_start_a_new_log_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(production_formatter())
    log = logging.getLogger("tests.log_hygiene")
    log.addHandler(handler)
    try:
        log.warning("Failed log-in for %s", FORGED)
        log.warning("Path %s", "/x\r\n\x1b[2Jcleared\u2028next")
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "alice@example.org\\n2026-12-01" in lines[0]
    assert "\\r\\n\\x1b[2Jcleared\\u2028next" in lines[1]


def test_a_traceback_keeps_its_lines_but_the_message_does_not():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", (FORGED,), None)
    try:
        raise ValueError("inner")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    text = production_formatter().format(record)
    first, *rest = text.splitlines()
    assert "boom alice@example.org\\n2026" in first
    assert rest and rest[0].startswith("Traceback")


def test_printable_text_is_left_alone():
    assert escape_control("Größe 10 € – ok") == "Größe 10 € – ok"


@pytest.mark.parametrize(
    "secret",
    [PASSWORD, "Atzr|IwEBIA-refresh", "Atza|IwEBIA-access", "title CANARY-1"],
)
def test_the_scanner_finds_a_planted_secret(secret):
    scanner = LogScanner()
    scanner.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "value %s", (secret,), None))
    assert scanner.hits()


def test_the_scanner_finds_a_session_key_and_passes_clean_records():
    scanner = LogScanner()
    scanner.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "synced 5 listings", (), None))
    assert scanner.hits() == []
    scanner.session_keys.add("k" * 32)
    scanner.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "s=%s", ("k" * 32,), None))
    assert len(scanner.hits()) == 1


class LoginLogTests(BaseTestCase):
    def test_a_log_in_logs_no_password_or_session_key(self):
        with self.assertLogs(level="DEBUG") as captured:
            logging.getLogger("tests").info("start")
            self.client.post(reverse("accounts:login"), {"username": FORGED, "password": PASSWORD})
            self.client.post(
                reverse("accounts:login"), {"username": self.alice.email, "password": PASSWORD}
            )
        key = self.client.session.session_key
        assert key
        text = "\n".join(captured.output)
        assert PASSWORD not in text and key not in text


class SyncLogTests(BaseTestCase):
    """A full sync against the simulator logs none of the seller's content or tokens."""

    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        settings.LISTINGS_DISCOVERY_MINUTES = 0
        with synced_simulator(settings) as server:
            self.sim = server
            yield

    def test_a_sync_logs_no_title_bullet_or_token(self):
        with self.assertLogs(level="DEBUG") as captured:
            logging.getLogger("tests").info("start")
            connection = connect_seller(self.sim, team=self.team, user=self.alice)
            connection_sync(connection=connection)
            for kind in ("listings", "orders"):
                job = SyncJob.objects.filter(connection=connection, kind=kind).first()
                if job is not None:
                    run_until_done(job)
        connection.refresh_from_db()
        values = {connection.unseal("refresh_token", connection.refresh_token_enc)}
        for listing in Listing.objects.filter(connection=connection):
            content = listing_content(connection=connection, listing=listing) or {}
            values.add(content.get("title") or "")
            values.update(content.get("bullets") or [])
        values.discard("")
        values.discard(None)
        assert len(values) > 5, "the sync stored no content to look for"
        text = "\n".join(captured.output)
        assert len(captured.output) > 1
        leaked = [value for value in values if value in text]
        assert leaked == []
