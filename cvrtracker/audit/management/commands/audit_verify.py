"""`manage.py audit_verify [--team CODE]`: check the audit trail's hash chains.

Exits 0 when every chain checked is intact, 1 (with what broke where) otherwise.
The last hash of each chain is printed: recorded elsewhere (a log, a ticket), it
also proves later that nobody rewrote a whole chain from the start.
"""

import uuid

from django.core.management.base import BaseCommand, CommandError

from cvrtracker.accounts.models import Team
from cvrtracker.audit.verify import audit_chain_keys, audit_chain_verify, audit_unchained_count


class Command(BaseCommand):
    help = "Check that no audit entry was altered, removed or reordered."

    def add_arguments(self, parser):
        parser.add_argument("--team", help="only this team's chain (the team's code)")

    def handle(self, *args, team=None, **options):
        if team:
            try:
                code = uuid.UUID(team)
            except ValueError:
                raise CommandError(f"{team!r} is not a team code.") from None
            if not Team.objects.filter(code=code).exists():
                raise CommandError(f"No team has the code {team}.")
            keys = [str(code)]
        else:
            keys = audit_chain_keys()
        broken = 0
        for key in keys:
            report = audit_chain_verify(key=key)
            unchained = audit_unchained_count(key=key)
            if unchained:
                report.problems.append(f"{unchained} entries are in no chain")
            status = "ok" if report.ok else "BROKEN"
            self.stdout.write(
                f"{key}: {report.entries} entries, {status}, last hash {report.last_hash or '-'}"
            )
            for problem in report.problems:
                self.stdout.write(f"  {problem}")
            broken += not report.ok
        if broken:
            raise CommandError(f"{broken} of {len(keys)} audit chains are broken.")
        self.stdout.write(f"All {len(keys)} audit chains are intact.")
