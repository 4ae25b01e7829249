"""Data migrations that move plaintext columns into encrypted ones (lib/fields.py),
for historical models: each app adds `<field>_sealed` beside `<field>`, runs
`encrypt_rows` (backwards: `decrypt_rows`), then drops `<field>` and renames.

The associated data names the field's final name, as EncryptedTextField will, so the
renamed column opens. One UPDATE per row: slow for millions of rows, but it runs once
and may be stopped and run again (a row already encrypted is encrypted again)."""

from __future__ import annotations

import uuid

from cvrtracker.lib.crypto import associated_data
from cvrtracker.lib.fields import Sealed, seal, unseal

BATCH = 500


def encrypt_rows(model, fields, *, row: str = "code") -> None:
    """Fill each `<field>_sealed` from `<field>`. A row whose `row` column is still
    NULL (a code added by this migration) gets a new UUID in the same UPDATE."""
    table = model._meta.db_table
    rows = model._base_manager.order_by("pk").values("pk", row, *fields)
    for values in rows.iterator(chunk_size=BATCH):
        changes = {}
        if values[row] is None:
            values[row] = changes[row] = uuid.uuid4()
        for field in fields:
            plain = values[field]
            if plain is not None:
                aad = associated_data(table, str(values[row]), field)
                plain = Sealed(seal(str(plain), aad=aad))
            changes[f"{field}_sealed"] = plain
        model._base_manager.filter(pk=values["pk"]).update(**changes)


def decrypt_rows(model, fields, *, row: str = "code") -> None:
    """Fill each `<field>` from `<field>_sealed` (undoing encrypt_rows)."""
    table = model._meta.db_table
    temps = [f"{field}_sealed" for field in fields]
    rows = model._base_manager.order_by("pk").values("pk", row, *temps)
    for values in rows.iterator(chunk_size=BATCH):
        changes = {}
        for field in fields:
            blob = values[f"{field}_sealed"]
            if blob is None:
                changes[field] = None if model._meta.get_field(field).null else ""
                continue
            aad = associated_data(table, str(values[row]), field)
            changes[field] = unseal(bytes(blob), aad=aad)
        model._base_manager.filter(pk=values["pk"]).update(**changes)
