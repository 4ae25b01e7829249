"""A data export's life: asked for (one at a time), built by the worker, downloaded by
its requester only, failed plainly, expired and purged after EXPORT_LINK_DAYS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import time_machine
from django.conf import settings
from django.test import override_settings

from cvrtracker.audit.models import AuditEntry
from cvrtracker.privacy import export_tables
from cvrtracker.privacy.export import (
    ExportAlreadyRunning,
    ExportUnavailable,
    data_export_build,
    data_export_discard,
    data_export_download,
    data_export_purge_expired,
    data_export_request,
    data_exports_discard_for_team,
)
from cvrtracker.privacy.models import DataExport
from cvrtracker.privacy.retention import RULES, retention_run
from cvrtracker.test import BaseTestCase

from .helpers import IMMEDIATE, ExportsDirMixin

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
Status = DataExport.Status


class RequestTests(ExportsDirMixin, BaseTestCase):
    @override_settings(TASKS=IMMEDIATE)
    def test_asking_queues_the_worker_and_is_audited(self):
        with self.captureOnCommitCallbacks(execute=True):
            export = data_export_request(user=self.alice)
        export.refresh_from_db()
        self.assertEqual(export.status, Status.READY)
        self.assertEqual((export.requested_by, export.team), (self.alice, self.team))
        entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_EXPORT_REQUESTED)
        self.assertEqual(
            (entry.actor, entry.team, entry.target_code), (self.alice, self.team, str(export.code))
        )

    def test_one_export_at_a_time_per_user(self):
        with self.captureOnCommitCallbacks(execute=False):
            data_export_request(user=self.alice)
            with self.assertRaises(ExportAlreadyRunning):
                data_export_request(user=self.alice)
            # A teammate is not blocked by it.
            data_export_request(user=self.bob)
        self.assertEqual(DataExport.objects.filter(requested_by=self.alice).count(), 1)

    def test_a_new_one_may_be_asked_once_the_last_is_ready(self):
        self.build(self.alice)
        self.build(self.alice)
        self.assertEqual(DataExport.objects.filter(status=Status.READY).count(), 2)

    def test_a_build_that_died_no_longer_blocks_after_six_hours(self):
        with time_machine.travel(T0, tick=False), self.captureOnCommitCallbacks(execute=False):
            first = data_export_request(user=self.alice)
        later = time_machine.travel(T0 + timedelta(hours=5), tick=False)
        with later, self.assertRaises(ExportAlreadyRunning), self.captureOnCommitCallbacks():
            data_export_request(user=self.alice)
        stale = time_machine.travel(T0 + timedelta(hours=6, seconds=1), tick=False)
        with stale, self.captureOnCommitCallbacks(execute=False):
            data_export_request(user=self.alice)
        first.refresh_from_db()
        self.assertEqual(first.status, Status.FAILED)
        self.assertIn("stopped before it was finished", first.error)


class BuildTests(ExportsDirMixin, BaseTestCase):
    def test_a_failed_build_says_so_and_leaves_no_file(self):
        real = export_tables.TABLES[0]
        broken = real.__class__("t/broken", real.about, real.models, real.columns, self._boom)
        with mock.patch("cvrtracker.privacy.export.TABLES", (real, broken)):
            export = self.build(self.alice)
        self.assertEqual(export.status, Status.FAILED)
        self.assertEqual(
            export.error,
            "The export could not be built. Nothing was kept; please ask for a new one.",
        )
        self.assertEqual((export.file_name, export.wrapped_key), ("", None))
        self.assertEqual(self.files(), [])
        with self.assertRaises(ExportUnavailable):
            data_export_download(export=export, user=self.alice)

    @staticmethod
    def _boom(scope):
        yield from ()
        raise RuntimeError("disk full")

    def test_running_the_task_twice_builds_one_file(self):
        export = self.build(self.alice)
        again = data_export_build(export=export)
        self.assertEqual(again.status, Status.READY)
        self.assertEqual(self.files(), [export.file_name])

    def test_a_row_deleted_during_the_build_leaves_no_file(self):
        real = export_tables.TABLES[1]

        def delete_row(scope):
            DataExport.objects.all().delete()
            yield from real.rows(scope)

        tables = (real.__class__(real.path, real.about, real.models, real.columns, delete_row),)
        with mock.patch("cvrtracker.privacy.export.TABLES", tables * 2):
            self.build(self.alice)
        self.assertEqual(self.files(), [])
        self.assertFalse(DataExport.objects.exists())

    def test_the_progress_is_saved_as_the_tables_are_written(self):
        seen = []
        real = export_tables.TABLES[0]

        def watch(scope):
            seen.append(DataExport.objects.values_list("status", "progress", "step").get())
            yield from real.rows(scope)

        tables = tuple(
            real.__class__(f"t/{n}", real.about, real.models, real.columns, watch) for n in range(4)
        )
        with mock.patch("cvrtracker.privacy.export.TABLES", tables):
            self.build(self.alice)
        # Each table is read twice (JSON, CSV).
        self.assertEqual(
            seen[::2],
            [("running", 0, "Writing t/0"), ("running", 25, "Writing t/1"),
             ("running", 50, "Writing t/2"), ("running", 75, "Writing t/3")],
        )  # fmt: skip


class DownloadTests(ExportsDirMixin, BaseTestCase):
    def test_the_download_is_audited_as_a_read(self):
        export = self.build(self.alice)
        self.assertTrue(self.unzip(export, self.alice).namelist())
        entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_EXPORT_DOWNLOADED)
        self.assertEqual(
            (entry.actor, entry.team, entry.target_code), (self.alice, self.team, str(export.code))
        )
        self.assertIn(AuditEntry.Action.DATA_EXPORT_DOWNLOADED, AuditEntry.DATA_READS)

    def test_only_the_requester_may_download(self):
        export = self.build(self.alice)
        for other in (self.bob, self.charlie):
            with self.assertRaises(ExportUnavailable):
                data_export_download(export=export, user=other)
        self.assertFalse(AuditEntry.objects.filter(action=AuditEntry.Action.DATA_EXPORT_DOWNLOADED))

    def test_the_link_works_until_export_link_days_and_not_after(self):
        with time_machine.travel(T0, tick=False):
            export = self.build(self.alice)
        self.assertEqual(export.expires_at, T0 + timedelta(days=7))
        with time_machine.travel(T0 + timedelta(days=7, seconds=-1), tick=False):
            self.assertTrue(self.unzip(export, self.alice).namelist())
        expired = time_machine.travel(T0 + timedelta(days=7), tick=False)
        with expired, self.assertRaises(ExportUnavailable):
            data_export_download(export=export, user=self.alice)

    def test_a_missing_file_is_unavailable(self):
        export = self.build(self.alice)
        (Path(self.exports_dir) / export.file_name).unlink()
        with self.assertRaises(ExportUnavailable):
            data_export_download(export=export, user=self.alice)


class DiscardTests(ExportsDirMixin, BaseTestCase):
    def test_discard_removes_the_file_and_the_row(self):
        export = self.build(self.alice)
        data_export_discard(export=export)
        self.assertEqual(self.files(), [])
        self.assertFalse(DataExport.objects.filter(pk=export.pk).exists())

    def test_discarding_a_teams_exports_leaves_other_teams_alone(self):
        self.build(self.alice)
        self.build(self.bob)
        kept = self.build(self.charlie)
        self.assertEqual(data_exports_discard_for_team(team=self.team), 2)
        self.assertEqual(list(DataExport.objects.all()), [kept])
        self.assertEqual(self.files(), [kept.file_name])


class PurgeTests(ExportsDirMixin, BaseTestCase):
    def test_the_rule_is_in_the_retention_runner(self):
        rule = next(r for r in RULES if r.name == "data_exports")
        self.assertIs(rule.load(), data_export_purge_expired)

    def test_a_ready_export_is_kept_until_day_7_and_deleted_after(self):
        with time_machine.travel(T0, tick=False):
            export = self.build(self.alice)
        with time_machine.travel(T0 + timedelta(days=6, hours=23), tick=False):
            self.assertEqual(retention_run()["data_exports"], 0)
        self.assertEqual(self.files(), [export.file_name])
        with time_machine.travel(T0 + timedelta(days=7, hours=1), tick=False):
            self.assertEqual(retention_run()["data_exports"], 1)
        self.assertEqual(self.files(), [])
        self.assertFalse(DataExport.objects.exists())

    def test_a_failed_build_loses_its_file_at_once_and_its_row_after_7_days(self):
        with time_machine.travel(T0, tick=False), self.captureOnCommitCallbacks(execute=False):
            export = data_export_request(user=self.alice)
        # A worker killed half-way: a file, never finished.
        (Path(self.exports_dir) / ("a" * 32 + ".sealed")).write_bytes(b"partial")
        DataExport.objects.filter(pk=export.pk).update(
            status=Status.FAILED, file_name="a" * 32 + ".sealed", wrapped_key=b"k"
        )
        with time_machine.travel(T0 + timedelta(days=1), tick=False):
            self.assertEqual(data_export_purge_expired(now=T0 + timedelta(days=1)), 0)
        self.assertEqual(self.files(), [])
        export.refresh_from_db()
        self.assertEqual((export.file_name, export.wrapped_key), ("", None))
        self.assertEqual(data_export_purge_expired(now=T0 + timedelta(days=6, hours=23)), 0)
        self.assertEqual(data_export_purge_expired(now=T0 + timedelta(days=7, hours=1)), 1)
        self.assertFalse(DataExport.objects.exists())

    def test_a_build_that_died_is_failed_and_its_file_removed(self):
        with time_machine.travel(T0, tick=False), self.captureOnCommitCallbacks(execute=False):
            export = data_export_request(user=self.alice)
        DataExport.objects.filter(pk=export.pk).update(
            status=Status.RUNNING, file_name="b" * 32 + ".sealed"
        )
        (Path(self.exports_dir) / ("b" * 32 + ".sealed")).write_bytes(b"partial")
        data_export_purge_expired(now=T0 + timedelta(hours=5))
        self.assertEqual(self.files(), ["b" * 32 + ".sealed"])
        data_export_purge_expired(now=T0 + timedelta(hours=6, minutes=1))
        self.assertEqual(self.files(), [])
        export.refresh_from_db()
        self.assertEqual(export.status, Status.FAILED)


class RotationTests(ExportsDirMixin, BaseTestCase):
    def test_a_master_key_rotation_keeps_a_ready_export_downloadable(self):
        import base64
        import secrets
        from io import StringIO

        from django.core.management import call_command

        from cvrtracker.lib.crypto import key_provider, load_or_create_key_file

        # The old key is the one the accounts (encrypted names and addresses) were
        # saved under.
        current = load_or_create_key_file(Path(settings.MASTER_KEY_PATH))
        old = base64.b64encode(current).decode()
        new = base64.b64encode(secrets.token_bytes(32)).decode()
        self.addCleanup(key_provider.cache_clear)
        key_provider.cache_clear()
        with override_settings(MASTER_KEY=old):
            export = self.build(self.alice)
        key_provider.cache_clear()
        out = StringIO()
        with override_settings(MASTER_KEY=new, MASTER_KEY_PREVIOUS=old):
            call_command("rotate_master_key", stdout=out)
        self.assertIn("privacy.DataExport.wrapped_key: 1 re-wrapped", out.getvalue())
        key_provider.cache_clear()
        with override_settings(MASTER_KEY=new):  # the old key is gone
            export.refresh_from_db()
            self.assertIn("README.txt", self.unzip(export, self.alice).namelist())
