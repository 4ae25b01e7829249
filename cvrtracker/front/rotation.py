"""Master-key rotation: re-wrap every stored data key under the current master key.

The operator sets MASTER_KEY to the new key and MASTER_KEY_PREVIOUS to the old one
and restarts every process (which then read either and write with the new one),
runs `manage.py rotate_master_key`, then removes MASTER_KEY_PREVIOUS. The data
itself is never re-encrypted: only the 60-byte wrapped keys change, one row at a
time with a conditional update, so the command is safe to stop and run again and
safe beside running workers. Destroyed keys (NULL) stay destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from cvrtracker.lib.crypto import DecryptionError, key_provider, wrapped_key_columns


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
    return report
