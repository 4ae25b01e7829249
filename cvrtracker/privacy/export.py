"""Data exports: a ZIP of everything held about a user and their team (export_tables.py).

Asked for on Settings → Privacy, built by the worker (tasks_export.py) one row at a
time straight into an encrypted file under EXPORTS_DIR (sealed_file.py), with a key
of its own wrapped by the master key; downloadable by the requester only, until
EXPORT_LINK_DAYS after it is ready, then deleted by the retention runner.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import re
import secrets
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cvrtracker.accounts.models import Membership, Team, User
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.lib.crypto import DecryptionError, key_provider, new_data_key
from cvrtracker.privacy.export_tables import TABLES, Scope, Table
from cvrtracker.privacy.models import DataExport
from cvrtracker.privacy.sealed_file import SealedWriter, sealed_read

logger = logging.getLogger(__name__)
Status = DataExport.Status
ACTIVE = (Status.QUEUED, Status.RUNNING)
# A build that has not finished this long after it was asked for died with its
# worker: it no longer blocks a new one, and the retention run removes its file.
STALE_AFTER = timedelta(hours=6)
FILE_NAME = re.compile(r"^[0-9a-f]{32}\.sealed$")


class ExportAlreadyRunning(Exception):
    """The user has an export being built; one at a time."""


class ExportUnavailable(Exception):
    """The export's file is gone or unreadable."""


class _Abandoned(Exception):
    """The export's row was deleted (or failed) while it was being built."""


# Asking, building -------------------------------------------------------------------


def data_export_request(*, user: User, context: AuditContext | None = None) -> DataExport:
    """Queue an export of `user`'s data and their team's; audited. ExportAlreadyRunning
    when one of theirs is waiting or being built."""
    from cvrtracker.privacy.tasks_export import build_data_export

    team = Membership.objects.select_related("team").get(user=user).team
    with transaction.atomic():
        # One request at a time per user: two clicks racing wait for each other here.
        User.objects.select_for_update().filter(pk=user.pk).first()
        _fail_stale(DataExport.objects.filter(requested_by=user), now=timezone.now())
        if DataExport.objects.filter(requested_by=user, status__in=ACTIVE).exists():
            raise ExportAlreadyRunning("An export of your data is already being built.")
        export = DataExport.objects.create(requested_by=user, team=team, step="Waiting to start")
        audit_record(
            action=AuditEntry.Action.DATA_EXPORT_REQUESTED,
            context=context,
            actor=user,
            team=team,
            target=export,
        )
        transaction.on_commit(lambda: build_data_export.enqueue(export.pk))
    return export


def data_export_build(*, export: DataExport) -> DataExport:
    """Write the export's file (the worker's job). Returns the row as it ends: READY, or
    FAILED with a plain error and no file left; a row not QUEUED is left alone (a
    second run of the task), so running it twice builds one file."""
    now = timezone.now()
    claimed = DataExport.objects.filter(pk=export.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, step="Starting", progress=0
    )
    if not claimed:
        return DataExport.objects.filter(pk=export.pk).first() or export
    key = new_data_key()
    file_name = f"{secrets.token_hex(16)}.sealed"
    # The name and key are saved first: a worker killed half-way leaves a file the
    # retention run can find and delete.
    DataExport.objects.filter(pk=export.pk).update(
        file_name=file_name, wrapped_key=key_provider().wrap(key, context=export.key_context())
    )
    path = _exports_dir() / file_name
    try:
        size = _write(export, path, key)
    except _Abandoned:
        _remove(path)
        return export
    except Exception:
        logger.exception("Building data export %s failed", export.code)
        _remove(path)
        DataExport.objects.filter(pk=export.pk).update(
            status=Status.FAILED,
            progress=0,
            step="",
            file_name="",
            wrapped_key=None,
            finished_at=timezone.now(),
            error="The export could not be built. Nothing was kept; please ask for a new one.",
        )
        return DataExport.objects.get(pk=export.pk)
    now = timezone.now()
    done = DataExport.objects.filter(pk=export.pk, status=Status.RUNNING).update(
        status=Status.READY,
        progress=100,
        step="",
        size_bytes=size,
        finished_at=now,
        expires_at=now + timedelta(days=settings.EXPORT_LINK_DAYS),
    )
    if not done:
        _remove(path)
    return DataExport.objects.filter(pk=export.pk).first() or export


def _write(export: DataExport, path: Path, key: bytes) -> int:
    scope = Scope.of(user=export.requested_by, team=export.team)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw:
        sealed = SealedWriter(raw, key=key, file_id=str(export.code))
        with zipfile.ZipFile(sealed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", _readme(export, scope))
            for number, table in enumerate(TABLES):
                _progress(export, step=table.path, progress=int(100 * number / len(TABLES)))
                _write_table(archive, table, scope)
        sealed.close()
        os.fsync(raw.fileno())
    return sealed.plaintext_bytes


def _progress(export: DataExport, *, step: str, progress: int) -> None:
    updated = DataExport.objects.filter(pk=export.pk, status=Status.RUNNING).update(
        step=f"Writing {step}", progress=min(progress, 99)
    )
    if not updated:
        raise _Abandoned


def _write_table(archive: zipfile.ZipFile, table: Table, scope: Scope) -> None:
    # Each file streams into the ZIP as its rows come; the rows are read twice (JSON,
    # then CSV) rather than held.
    with archive.open(f"{table.path}.json", "w", force_zip64=True) as member:
        text = io.TextIOWrapper(member, encoding="utf-8")
        text.write("[")
        for n, row in enumerate(table.rows(scope)):
            text.write(",\n " if n else "\n ")
            record = dict(zip(table.columns, row, strict=True))
            text.write(json.dumps(record, default=_json_value, ensure_ascii=False))
        text.write("\n]\n")
        text.flush()
        text.detach()
    with archive.open(f"{table.path}.csv", "w", force_zip64=True) as member:
        text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(table.columns)
        for row in table.rows(scope):
            writer.writerow([_csv_value(v) for v in row])
        text.flush()
        text.detach()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"cannot export a {type(value).__name__}")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, default=_json_value, ensure_ascii=False)
    elif isinstance(value, datetime | date):
        return value.isoformat()
    elif not isinstance(value, str):
        return value if isinstance(value, int | float | bool) else str(value)
    # Spreadsheets run a cell starting with = + - @ as a formula (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _readme(export: DataExport, scope: Scope) -> str:
    lines = [
        f"Your data at {settings.SITE_NAME}",
        "",
        f"Asked for by {scope.user.email} for the team {scope.team.name!r} "
        f"on {export.created_at:%Y-%m-%d %H:%M} UTC.",
        "Each table is here twice: as JSON (nested values kept) and as CSV (nested",
        "values written as JSON text). Times are UTC. Money is in the currency named",
        "next to it. No password, token, key or secret is ever included.",
        "",
    ]
    lines += [f"{t.path}.json / .csv: {t.about}" for t in TABLES]
    unreadable = [c for c in scope.connections if scope.keys.get(c.pk) is None]
    if unreadable:
        lines += [
            "",
            f"{len(unreadable)} disconnected seller account(s): their data key is destroyed,",
            "so what is left of their data is unreadable and is being deleted.",
        ]
    return "\n".join(lines) + "\n"


# Reading -----------------------------------------------------------------------------


def data_exports_for_user(*, user: User):
    """The user's own exports, newest first (the panel lists them)."""
    return DataExport.objects.filter(requested_by=user).order_by("-created_at")


def data_export_is_downloadable(export: DataExport, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return export.status == Status.READY and bool(export.expires_at and export.expires_at > now)


def data_export_download(
    *, export: DataExport, user: User, context: AuditContext | None = None
) -> Iterator[bytes]:
    """The export's ZIP, decrypted chunk by chunk; the download is audited (it is a read
    of Amazon data). Only for its requester while it is downloadable: ExportUnavailable
    otherwise, or when its file is missing or its key cannot open it."""
    if export.requested_by_id != user.pk or not data_export_is_downloadable(export):
        raise ExportUnavailable("This export cannot be downloaded.")
    if not FILE_NAME.match(export.file_name or ""):
        raise ExportUnavailable("This export has no file.")
    try:
        key = key_provider().unwrap(bytes(export.wrapped_key or b""), context=export.key_context())
        raw = open(_exports_dir() / export.file_name, "rb")  # noqa: SIM115 - closed by the stream
    except (DecryptionError, OSError) as error:
        raise ExportUnavailable("This export's file is gone.") from error
    audit_record(
        action=AuditEntry.Action.DATA_EXPORT_DOWNLOADED,
        context=context,
        actor=user,
        team=export.team,
        target=export,
    )
    return _stream(raw, key=key, file_id=str(export.code))


def _stream(raw, *, key: bytes, file_id: str) -> Iterator[bytes]:
    with raw:
        yield from sealed_read(raw, key=key, file_id=file_id)


# Deleting ----------------------------------------------------------------------------


def data_export_discard(*, export: DataExport) -> None:
    """Delete the export's file and its row (its key goes with the row)."""
    _remove_file_of(export)
    DataExport.objects.filter(pk=export.pk).delete()


def data_exports_discard_for_team(*, team: Team) -> int:
    """Delete every export of the team, files included (a seller disconnected, or the
    team is deleted). Returns exports deleted. A build running now notices its row
    is gone and removes its own file."""
    count = 0
    for export in DataExport.objects.filter(team=team):
        data_export_discard(export=export)
        count += 1
    return count


def data_export_purge_expired(*, now: datetime) -> int:
    """The retention rule: delete exports whose link has expired (EXPORT_LINK_DAYS after
    they were ready), the files of failed builds, and builds that died (STALE_AFTER),
    which are marked failed; failed rows go EXPORT_LINK_DAYS after they were asked for.
    Returns rows deleted."""
    exports = DataExport.objects.all()
    _fail_stale(exports, now=now)
    deleted = 0
    for export in exports.filter(status__in=(Status.READY, Status.EXPIRED), expires_at__lte=now):
        data_export_discard(export=export)
        deleted += 1
    link = timedelta(days=settings.EXPORT_LINK_DAYS)
    for export in exports.filter(status=Status.FAILED):
        if export.created_at <= now - link:
            data_export_discard(export=export)
            deleted += 1
        elif export.file_name or export.wrapped_key:
            _remove_file_of(export)
            DataExport.objects.filter(pk=export.pk).update(file_name="", wrapped_key=None)
    return deleted


def _fail_stale(exports, *, now: datetime) -> None:
    stale = exports.filter(status__in=ACTIVE, created_at__lte=now - STALE_AFTER)
    for export in stale:
        _remove_file_of(export)
        exports.filter(pk=export.pk, status__in=ACTIVE).update(
            status=Status.FAILED,
            file_name="",
            wrapped_key=None,
            finished_at=now,
            error="The export stopped before it was finished. Please ask for a new one.",
        )


def _remove_file_of(export: DataExport) -> None:
    if FILE_NAME.match(export.file_name or ""):
        _remove(_exports_dir() / export.file_name)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _exports_dir() -> Path:
    path = Path(settings.EXPORTS_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
