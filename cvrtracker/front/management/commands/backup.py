"""Write an encrypted backup of the database (see cvrtracker/front/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cvrtracker.front.backup import BackupError, backup_to_file


class Command(BaseCommand):
    help = (
        "Write every row of the database to FILE, encrypted with AES-256-GCM under "
        "BACKUP_KEY (or BACKUP_KEY_FILE, kept outside FILE's directory)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            counts = backup_to_file(file)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Backed up {sum(counts.values())} rows of {len(counts)} tables to {file}."
        )
