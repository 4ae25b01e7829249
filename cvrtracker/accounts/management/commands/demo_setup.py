"""Make sure the embedded demo has a user to log in with, and print the login."""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cvrtracker.accounts.models import Membership, Team, User

DEMO_EMAIL = "demo@example.com"


class Command(BaseCommand):
    help = "Create the demo user (once) and print its login. Refuses on an https site."

    def handle(self, *args, **options):
        if settings.SECURE:
            raise CommandError("demo_setup is for the embedded demo, not a production site.")
        password_file = settings.VAR_DIR / "demo-login.txt"
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None or not password_file.exists():
            # A random password per installation: no shared default credential.
            password = secrets.token_urlsafe(12)
            now = timezone.now()
            if user is None:
                user = User.objects.create_user(
                    DEMO_EMAIL,
                    password,
                    name="Demo Seller",
                    email_verified_at=now,
                    age_confirmed_at=now,
                    privacy_policy_version=settings.PRIVACY_POLICY_VERSION,
                    privacy_policy_accepted_at=now,
                )
                team = Team.objects.create(name="Demo Seller's team")
                Membership.objects.create(user=user, team=team, role=Membership.Role.OWNER)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        self.stdout.write(f"Demo login: {DEMO_EMAIL} / {password}")
