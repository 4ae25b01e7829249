"""Re-wrap every data key under the current MASTER_KEY (see cvrtracker/front/rotation.py)."""

from django.core.management.base import BaseCommand, CommandError

from cvrtracker.front.rotation import master_key_rotate


class Command(BaseCommand):
    help = (
        "Re-wrap every stored data key under MASTER_KEY. Set MASTER_KEY to the new key and "
        "MASTER_KEY_PREVIOUS to the old one first; remove MASTER_KEY_PREVIOUS afterwards."
    )

    def handle(self, *args, **options):
        report = master_key_rotate()
        for name, count in report.rewrapped.items():
            self.stdout.write(
                f"{name}: {count} re-wrapped, {report.current[name]} already under the current key"
            )
        if not report.ok:
            for problem in report.failed[:50]:
                self.stderr.write(problem)
            raise CommandError(
                f"{len(report.failed)} data keys could not be opened with MASTER_KEY or "
                "MASTER_KEY_PREVIOUS; they were left as they are."
            )
        self.stdout.write("Every data key is wrapped by the current master key.")
