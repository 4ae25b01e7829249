"""Master-key rotation: re-wrap every stored data key under the current master key.

The operator sets MASTER_KEY to the new key and MASTER_KEY_PREVIOUS to the old one
and restarts every process (which then read either and write with the new one),
runs `manage.py rotate_master_key`, then removes MASTER_KEY_PREVIOUS. The data
itself is never re-encrypted: only the 60-byte wrapped keys change, one row at a
time with a conditional update, so the command is safe to stop and run again and
safe beside running workers. Destroyed keys (NULL) stay destroyed.

Personal data (lib/fields.py) has no wrapped key: its key is derived from the master
key, so its rows are re-encrypted, and their blind indexes recomputed, instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from cvrtracker.lib.crypto import DecryptionError, key_provider, wrapped_key_columns
from cvrtracker.lib.fields import BlindIndexField, Sealed, encrypted_fields, is_current, unseal


@dataclass
class RotationReport:
    rewrapped: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def master_key_rotate(*, batch: int = 500) -> RotationReport:
    """Re-wrap, under the current master key, every registered wrapped key that an
    older (MASTER_KEY_PREVIOUS) key wrapped. Rows no configured key opens are
    reported, not changed."""
    provider = key_provider()
    report = RotationReport()
    for column in wrapped_key_columns():
        model = apps.get_model(column.model)
        name = f"{column.model}.{column.field}"
        report.rewrapped[name] = report.current[name] = 0
        rows = model.objects.exclude(**{f"{column.field}__isnull": True}).order_by("pk")
        for row in rows.iterator(chunk_size=batch):
            wrapped = bytes(getattr(row, column.field))
            if provider.is_current(wrapped):
                report.current[name] += 1
                continue
            context = column.context(row)
            try:
                raw = provider.unwrap(wrapped, context=context)
            except DecryptionError as error:
                report.failed.append(f"{name} row {row.pk}: {error}")
                continue
            # Only if nobody changed (or destroyed) the key meanwhile.
            changed = model.objects.filter(pk=row.pk, **{column.field: wrapped}).update(
                **{column.field: provider.wrap(raw, context=context)}
            )
            report.rewrapped[name] += changed
    encrypted_rows_rotate(report, batch=batch)
    return report


def encrypted_rows_rotate(report: RotationReport, *, batch: int = 500, models=None) -> None:
    """Re-encrypt under the current key every personal-data value the previous master
    key's derived key encrypted, and recompute the blind indexes beside them (in
    `models`, every installed model by default)."""
    for model in apps.get_models() if models is None else models:
        fields = encrypted_fields(model)
        if not fields:
            continue
        indexes = [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]
        name = model._meta.label
        report.rewrapped[name] = report.current[name] = 0
        for row in model._base_manager.order_by("pk").iterator(chunk_size=batch):
            stale = {}
            for column in fields:
                sealed = row.__dict__.get(column.attname)
                if sealed is None:
                    continue
                aad = column.aad(row)
                if is_current(sealed, aad=aad):
                    continue
                try:
                    plain = unseal(sealed, aad=aad)
                except DecryptionError as error:
                    report.failed.append(f"{name}.{column.attname} row {row.pk}: {error}")
                    continue
                setattr(row, column.attname, plain)
                stale[column.attname] = (sealed, Sealed(column.pre_save(row, False)))
            if not stale:
                report.current[name] += 1
                continue
            values = {attname: new for attname, (_, new) in stale.items()}
            for index in indexes:
                values[index.attname] = index.pre_save(row, False)
            # Only if nobody changed the row meanwhile.
            unchanged = {attname: old for attname, (old, _) in stale.items()}
            report.rewrapped[name] += model._base_manager.filter(pk=row.pk, **unchanged).update(
                **values
            )
