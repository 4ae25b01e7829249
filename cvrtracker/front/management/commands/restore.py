"""Restore an encrypted backup into an empty database (see cvrtracker/front/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cvrtracker.front.backup import BackupError, restore_from_file


class Command(BaseCommand):
    help = (
        "Read a backup written by `manage.py backup` into this database, which must be "
        "migrated (to the backup's migrations) and empty. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            counts = restore_from_file(file)
        except (BackupError, OSError) as error:
            raise CommandError(f"Nothing was restored. {error}") from None
        self.stdout.write(f"Restored {sum(counts.values())} rows of {len(counts)} tables.")
