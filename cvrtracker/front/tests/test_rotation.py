"""Master-key rotation (issue 13, point 6): every data key re-wrapped under the new
master key, everything still readable, and the old master key opens nothing."""

import base64
import secrets
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from cvrtracker.alerts.channels import alert_channel_create, alert_channel_target
from cvrtracker.alerts.models import AlertChannel
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.api.tests.helpers import END, MARKET, START, seller_with_listings
from cvrtracker.front.rotation import master_key_rotate
from cvrtracker.lib.crypto import (
    DecryptionError,
    LocalKeyProvider,
    key_provider,
    load_or_create_key_file,
)
from cvrtracker.metrics.selectors import metrics_product_table
from cvrtracker.test import BaseTestCase


def _key_file_key() -> str:
    """The tests' master key (the key file's): BaseTestCase's accounts, whose names and
    addresses are encrypted (issue 15), are saved under it, so it is the old key."""
    from django.conf import settings

    return base64.b64encode(load_or_create_key_file(Path(settings.MASTER_KEY_PATH))).decode()


OLD = _key_file_key()
NEW = base64.b64encode(secrets.token_bytes(32)).decode()


def using(master: str, previous: str = ""):
    """Settings as an operator sets them, with the provider cache emptied around them."""
    key_provider.cache_clear()
    return override_settings(MASTER_KEY=master, MASTER_KEY_PREVIOUS=previous)


@pytest.fixture(autouse=True)
def _fresh_provider():
    key_provider.cache_clear()
    yield
    key_provider.cache_clear()


class RotationTests(BaseTestCase):
    def setUp(self):
        with using(OLD):
            self.connection, self.rows, self.listing, _ = seller_with_listings(
                self.team, self.alice, seller_id="AROTATE1", store_name="Rotation Store"
            )
            self.channel = alert_channel_create(
                user=self.alice, kind="webhook", name="Hook", target="https://hooks.example/x"
            )
            self.before = self.read_everything()
        self.assertTrue(self.before["title"])

    def read_everything(self) -> dict:
        connection = SellerConnection.objects.get(pk=self.connection.pk)
        channel = AlertChannel.objects.get(pk=self.channel.pk)
        rows = metrics_product_table(
            connection=connection, marketplace_id=MARKET, start=START, end=END, limit=3
        )
        return {
            "store": connection.unseal("store_name", connection.store_name_enc),
            "title": connection.data_key().decrypt_str(
                bytes(self.listing.title_enc), aad=self.listing.aad("title")
            ),
            "target": alert_channel_target(channel),
            "units": sorted(row.units_ordered for row in rows),
        }

    def wrapped(self) -> list[bytes]:
        return [
            bytes(SellerConnection.objects.get(pk=self.connection.pk).wrapped_data_key),
            bytes(AlertChannel.objects.get(pk=self.channel.pk).wrapped_key),
        ]

    def test_rotate_then_read_everything_back_and_the_old_key_opens_nothing(self):
        out = StringIO()
        with using(NEW, previous=OLD):
            # Mid-rotation: processes read rows still wrapped by the old key.
            self.assertEqual(self.read_everything(), self.before)
            call_command("rotate_master_key", stdout=out)
        self.assertIn("amazon.SellerConnection.wrapped_data_key: 1 re-wrapped", out.getvalue())
        self.assertIn("alerts.AlertChannel.wrapped_key: 1 re-wrapped", out.getvalue())
        with using(NEW):  # MASTER_KEY_PREVIOUS removed
            self.assertEqual(self.read_everything(), self.before)
        old = LocalKeyProvider(base64.b64decode(OLD))
        contexts = [self.connection.aad("data_key"), self.channel.context()]
        for wrapped, context in zip(self.wrapped(), contexts, strict=True):
            with self.assertRaises(DecryptionError):
                old.unwrap(wrapped, context=context)

    def test_running_it_again_changes_nothing(self):
        with using(NEW, previous=OLD):
            call_command("rotate_master_key", stdout=StringIO())
            first = self.wrapped()
            out = StringIO()
            call_command("rotate_master_key", stdout=out)
        self.assertEqual(self.wrapped(), first)
        self.assertIn("0 re-wrapped, 1 already under the current key", out.getvalue())

    def test_a_key_no_configured_master_key_opens_is_reported_and_left_alone(self):
        before = self.wrapped()
        with using(NEW), self.assertRaises(CommandError) as failure:
            call_command("rotate_master_key", stdout=StringIO(), stderr=StringIO())
        self.assertIn("data keys could not be opened", str(failure.exception))
        self.assertEqual(self.wrapped(), before)
        with using(NEW):
            report = master_key_rotate()
        failed = {entry.split(" row ")[0] for entry in report.failed}
        for column in (
            "amazon.SellerConnection.wrapped_data_key",
            "alerts.AlertChannel.wrapped_key",
            "accounts.User.email",  # personal data (issue 15) too
            "accounts.Team.name",
            "alerts.AlertChannel.name",
            "audit.AuditEntry.user_agent",
        ):
            self.assertIn(column, failed)

    def test_a_destroyed_key_stays_destroyed(self):
        SellerConnection.objects.filter(pk=self.connection.pk).update(wrapped_data_key=None)
        with using(NEW, previous=OLD):
            call_command("rotate_master_key", stdout=StringIO())
        self.assertIsNone(SellerConnection.objects.get(pk=self.connection.pk).wrapped_data_key)


def test_the_deploy_check_warns_while_a_rotation_is_unfinished(settings):
    from cvrtracker.front.checks import check_master_key

    settings.SITE_ROOT, settings.SECURE, settings.MASTER_KEY = "https://x.example", True, NEW
    settings.MASTER_KEY_PREVIOUS = ""
    assert check_master_key(None) == []
    settings.MASTER_KEY_PREVIOUS = OLD
    assert [m.id for m in check_master_key(None)] == ["cvrtracker.W007"]
