"""Encrypted logical backups: `manage.py backup FILE` and `manage.py restore FILE`.

A backup is every row of every table (Django's models, many-to-many tables included),
written model by model as JSON lines and encrypted as it is written with AES-256-GCM
in 1 MB chunks (privacy/sealed_file.py). Values are read and written raw, below every
field's own conversion, so binary ciphertexts, datetimes to the microsecond and JSON
come back byte for byte, and a backup of SQLite restores into PostgreSQL and back.

    b"CVRTBAK1\\n" | backup id (32 hex digits) | b"\\n" | sealed stream

The backup id is bound into every chunk's associated data. The key is BACKUP_KEY
(base64, 32 bytes) or the file BACKUP_KEY_FILE, which may not sit in the directory the
backup is written to. It is not the master key, which is never in a backup: Amazon data
in a backup stays encrypted under each connection's data key wrapped by the master
key, so destroying a connection's data key (crypto-shredding) reaches every backup.

A restore goes into a migrated, empty database (the same migrations as the backup's),
in one transaction: a wrong key, a truncated or altered file leaves nothing behind.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import ExpressionWrapper, F

from cvrtracker.lib.crypto import KEY_BYTES, DecryptionError, decode_master_key
from cvrtracker.privacy.sealed_file import SealedWriter, sealed_read

MAGIC = b"CVRTBAK1\n"
FORMAT = "cvrtracker-backup"
VERSION = 1
BATCH = 500
# Rows `migrate` makes in an empty database: replaced by the backup's.
MIGRATE_ROWS = ("auth.Permission", "contenttypes.ContentType")


class BackupError(Exception):
    """A backup that cannot be written or read: no key, a misplaced key, bad file."""


# The key --------------------------------------------------------------------------


def backup_key(*, beside: Path | None = None) -> bytes:
    """BACKUP_KEY, or the key in BACKUP_KEY_FILE; refuses a key file in `beside`'s
    directory (a backup and its key on the same disk protect nothing)."""
    text, path = settings.BACKUP_KEY, settings.BACKUP_KEY_FILE
    if not text and path:
        key_path = Path(path).resolve()
        if beside is not None and key_file_beside(key_path, Path(beside)):
            raise BackupError(
                f"BACKUP_KEY_FILE ({key_path}) is in the directory of the backup "
                f"({Path(beside).resolve().parent}): keep the key elsewhere."
            )
        try:
            text = key_path.read_text()
        except OSError as error:
            raise BackupError(f"BACKUP_KEY_FILE cannot be read: {error}") from None
    if not text:
        raise BackupError("No backup key: set BACKUP_KEY or BACKUP_KEY_FILE.")
    try:
        key = decode_master_key(text)
    except ValueError:
        raise BackupError(f"The backup key is not base64 of {KEY_BYTES} bytes.") from None
    if settings.MASTER_KEY and key == decode_master_key(settings.MASTER_KEY):
        raise BackupError("The backup key is the master key: give backups a key of their own.")
    return key


def key_file_beside(key_path: Path, backup_path: Path) -> bool:
    """Whether the key file lies in the backup's directory (or below it)."""
    return key_path.resolve().is_relative_to(backup_path.resolve().parent)


# Tables and values ------------------------------------------------------------------


def backup_models() -> list[type[models.Model]]:
    """Every concrete, managed model, with the many-to-many tables."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def _fields(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]


def _plain(field: models.Field) -> models.Field:
    """A field to read and write the column with, without a custom field's conversion
    (an encrypting field would otherwise decrypt here and encrypt again on restore)."""
    if type(field).__module__.startswith("django."):
        return field
    plain = getattr(models, field.get_internal_type())()
    plain.set_attributes_from_name(field.attname)
    plain.column, plain.model = field.column, field.model
    return plain


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "BinaryField":
        return base64.b64encode(bytes(value)).decode()
    if kind in ("DateTimeField", "DateField", "TimeField"):
        return value.isoformat()
    if kind == "DurationField":
        return value // timedelta(microseconds=1)
    if kind in ("UUIDField", "DecimalField"):
        return str(value)
    return value


def _decode(field: models.Field, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "BinaryField":
        return base64.b64decode(value)
    if kind == "DurationField":
        return timedelta(microseconds=value)
    if kind == "DecimalField":
        return Decimal(value)
    if kind in ("DateTimeField", "DateField", "TimeField", "UUIDField"):
        return field.to_python(value)
    return value


def _migrations() -> list[list[str]]:
    return sorted([app, name] for app, name in MigrationRecorder(connection).applied_migrations())


# Writing -------------------------------------------------------------------------------


def backup_lines() -> Iterator[dict | list]:
    """The backup's records: a header, then per model its columns, rows and count."""
    yield {
        "format": FORMAT,
        "version": VERSION,
        "vendor": connection.vendor,
        "migrations": _migrations(),
    }
    for model in backup_models():
        fields = _fields(model)
        kinds = [f.get_internal_type() for f in fields]
        yield {"model": model._meta.label, "columns": [f.column for f in fields]}
        wrapped = {
            f"c{i}": ExpressionWrapper(F(f.attname), output_field=_plain(f))
            for i, f in enumerate(fields)
        }
        rows = (
            model._base_manager.order_by("pk")
            .annotate(**wrapped)
            .values_list(*wrapped)
            .iterator(chunk_size=2000)
        )
        count = 0
        for row in rows:
            yield [_encode(kind, value) for kind, value in zip(kinds, row, strict=True)]
            count += 1
        yield {"end": model._meta.label, "count": count}


def backup_write(raw: BinaryIO, *, key: bytes) -> dict[str, int]:
    """Write an encrypted backup of the database to `raw`; returns rows per model."""
    backup_id = secrets.token_hex(16)
    raw.write(MAGIC + backup_id.encode() + b"\n")
    writer = SealedWriter(raw, key=key, file_id=f"backup:{backup_id}")
    counts: dict[str, int] = {}
    # One snapshot of the whole database: rows written meanwhile are all in or all out.
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for line in backup_lines():
            writer.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            if isinstance(line, dict) and "end" in line:
                counts[line["end"]] = line["count"]
    writer.close()
    return counts


def backup_to_file(path: Path) -> dict[str, int]:
    """Write the backup to `path` (mode 0600), through a temporary file renamed at the end."""
    path = Path(path)
    key = backup_key(beside=path)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            counts = backup_write(raw, key=key)
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counts


# Reading -------------------------------------------------------------------------------


def _records(raw: BinaryIO, *, key: bytes) -> Iterator[Any]:
    head = raw.read(len(MAGIC) + 33)
    if not head.startswith(MAGIC) or len(head) != len(MAGIC) + 33 or head[-1:] != b"\n":
        raise BackupError("This is not a CVR Tracker backup.")
    backup_id = head[len(MAGIC) : -1].decode("ascii", "replace")
    pending = b""
    try:
        for chunk in sealed_read(raw, key=key, file_id=f"backup:{backup_id}"):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield json.loads(line)
    except DecryptionError as error:
        raise BackupError(
            f"The backup cannot be read: {error}. Wrong BACKUP_KEY, or the file was "
            "truncated or altered."
        ) from None
    if pending:
        raise BackupError("The backup ends inside a record.")


def _empty_or_raise() -> None:
    full = [
        model._meta.label
        for model in backup_models()
        if model._meta.label not in MIGRATE_ROWS and model._base_manager.exists()
    ]
    if full:
        raise BackupError(
            f"The database is not empty ({', '.join(full[:5])}...): restore into a new, "
            "migrated database."
        )


def backup_restore(raw: BinaryIO, *, key: bytes) -> dict[str, int]:
    """Restore the backup in `raw` into this (migrated, empty) database, in one
    transaction; returns rows per model. BackupError leaves the database as it was."""
    records = _records(raw, key=key)
    header = next(records, None)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("The backup has no valid header.")
    if header.get("version") != VERSION:
        raise BackupError(f"Backup format version {header.get('version')} is not supported.")
    by_label = {model._meta.label: model for model in backup_models()}
    counts: dict[str, int] = {}
    with transaction.atomic():
        if header["migrations"] != _migrations():
            raise BackupError(
                "The backup was made at other migrations than this database's: check out "
                "the release that made it, or migrate both to the same state."
            )
        _empty_or_raise()
        for label in MIGRATE_ROWS:
            by_label[label]._base_manager.all().delete()
        model = insert = None
        batch: list[list] = []
        for record in records:
            if isinstance(record, list):
                if insert is None:
                    raise BackupError("A row outside any table.")
                batch.append(insert.values(record))
                if len(batch) >= BATCH:
                    insert.run(batch)
                    batch = []
            elif "model" in record:
                model = by_label.get(record["model"])
                if model is None:
                    raise BackupError(f"The backup has a table this code has not: {record}")
                insert = _Insert(model, record["columns"])
            elif "end" in record:
                if insert is None or record["end"] != model._meta.label:
                    raise BackupError("The backup's tables are out of order.")
                insert.run(batch)
                batch = []
                if insert.count != record["count"]:
                    raise BackupError(
                        f"{record['end']}: {insert.count} rows, not {record['count']}"
                    )
                counts[record["end"]] = insert.count
                insert = None
        if insert is not None:
            raise BackupError("The backup ends inside a table.")
        missing = sorted(set(by_label) - set(counts))
        if missing:
            raise BackupError(f"The backup has no rows for {missing}: it is incomplete.")
        # PostgreSQL's sequences: the next id after the restored ones.
        statements = connection.ops.sequence_reset_sql(no_style(), list(by_label.values()))
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return counts


class _Insert:
    """Raw INSERTs of one table's rows, converted by the plain Django field types."""

    def __init__(self, model, columns: list[str]):
        fields = _fields(model)
        if [f.column for f in fields] != columns:
            raise BackupError(
                f"{model._meta.label}: the backup's columns differ from this database's."
            )
        self.fields = [_plain(f) for f in fields]
        self.kinds = [f.get_internal_type() for f in fields]
        quote = connection.ops.quote_name
        # Names from the model's own metadata (the backup's were checked equal above),
        # quoted; values go as parameters.
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608  # nosec B608
            quote(model._meta.db_table),
            ", ".join(quote(c) for c in columns),
            ", ".join(["%s"] * len(columns)),
        )
        self.count = 0

    def values(self, row: list) -> list:
        if len(row) != len(self.fields):
            raise BackupError("A row with the wrong number of values.")
        return [
            field.get_db_prep_save(_decode(field, kind, value), connection)
            for field, kind, value in zip(self.fields, self.kinds, row, strict=True)
        ]

    def run(self, batch: list[list]) -> None:
        if batch:
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, batch)
            self.count += len(batch)


def restore_from_file(path: Path) -> dict[str, int]:
    key = backup_key()
    with open(path, "rb") as raw:
        return backup_restore(raw, key=key)
