"""`manage.py demo_connect`: connect the demo team to the simulator's seller (demo only).

`make run` calls it once the simulator is up, so a newcomer sees data flow in
without clicking through the consent page (which still works, for the real
flow). It takes the grant from the simulator's control API, never from Amazon.
When the simulator's clock started in the past (SIM_REPLAY_DAYS, which `make
run` sets to 90), it then replays those days (amazon/sync/replay.py), so the
demo opens on months of listing history; on a later `make run` the replay
starts after the last sync the database holds.
"""

from __future__ import annotations

import contextlib
import time
from datetime import date, datetime

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cvrtracker.accounts.models import Membership, User
from cvrtracker.amazon.client import AmazonError, TokenGrant, http
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import (
    SellerAlreadyConnected,
    connection_connect,
    connection_sync_marketplaces,
)
from cvrtracker.amazon.sync.replay import ReplayRefused, connections_replay
from cvrtracker.lib import clock

DEMO_EMAIL = "demo@example.com"
# The simulator answers at once when it is up; the wait loop retries a slow start.
SIM_TIMEOUT = 10


class Command(BaseCommand):
    help = "Connect the demo user's team to the Amazon simulator's first seller (embedded demo)."

    def add_arguments(self, parser):
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--seller", type=int, default=0, help="the simulator's seller number")
        parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for it")
        parser.add_argument(
            "--no-replay", action="store_true", help="do not replay the simulator's past days"
        )

    def handle(self, *args, email: str, seller: int, wait: float, no_replay: bool, **options):
        if settings.AMAZON_PRODUCTION or settings.SECURE:
            raise CommandError("demo_connect is for the embedded demo and its simulator only.")
        user = User.objects.filter(email=email).first()
        membership = Membership.objects.filter(user=user, role=Membership.Role.OWNER).first()
        if membership is None:
            raise CommandError(f"No team owned by {email}; run demo_setup first.")
        base = settings.AMAZON_SPAPI_URLS["NA"].rstrip("/")
        overview = self._wait_for_simulator(base, wait)
        seller_id = overview["sellers"][seller]["sellerId"]
        existing = SellerConnection.objects.filter(selling_partner_id=seller_id).first()
        if existing and existing.is_active:
            self.stdout.write(f"Demo seller {seller_id} is already connected.")
            if not no_replay:
                self._replay(existing)
            return
        # nosemgrep: cvrt-spapi-call-outside-client (the simulator's control API)
        answer = http().post(f"{base}/_sim/sellers/{seller_id}/grant", timeout=SIM_TIMEOUT)
        answer.raise_for_status()
        grant = TokenGrant(
            access_token="", expires_in=0, refresh_token=answer.json()["refreshToken"]
        )
        try:
            connection = connection_connect(
                team=membership.team,
                user=user,
                region="NA",
                selling_partner_id=seller_id,
                grant=grant,
            )
        except SellerAlreadyConnected:
            raise CommandError(f"Seller {seller_id} belongs to another team.") from None
        # No access token yet: the first call gets one through LWA like any other.
        SellerConnection.objects.filter(pk=connection.pk).update(
            access_token_enc=None, access_token_expires_at=None
        )
        connection.refresh_from_db()
        # A failure is recorded on the connection; the scheduler's daily sync tries again.
        with contextlib.suppress(AmazonError):
            connection_sync_marketplaces(connection=connection)
        self.stdout.write(f"Connected the demo team to the simulator's seller {seller_id}.")
        if not no_replay:
            self._replay(connection)

    def _replay(self, connection: SellerConnection) -> None:
        """Live through the simulator's past days, if its clock is behind and ours follows it."""
        if not clock.follows_simulator():
            self.stdout.write("No replay: the tracker's clock is the system's (TRACKER_CLOCK).")
            return
        started = time.monotonic()

        def progress(day: date, at: datetime) -> None:
            if day.day == 1 or day.weekday() == 0:
                self.stdout.write(f"Replay: {day} done ({time.monotonic() - started:.0f} s)")
                self.stdout.flush()

        try:
            result = connections_replay(connections=[connection], progress=progress)
        except ReplayRefused as error:
            raise CommandError(str(error)) from None
        if result.days:
            self.stdout.write(
                f"Replayed {len(result.days)} days of the demo seller in "
                f"{time.monotonic() - started:.0f} s; syncing goes on live."
            )

    def _wait_for_simulator(self, base: str, wait: float) -> dict:
        deadline = time.monotonic() + wait
        while True:
            try:
                # nosemgrep: cvrt-spapi-call-outside-client (the simulator's control API)
                response = http().get(f"{base}/_sim/", timeout=SIM_TIMEOUT)
                response.raise_for_status()
                return response.json()
            except (httpx.HTTPError, OSError) as error:
                if time.monotonic() > deadline:
                    raise CommandError(f"The simulator at {base} did not answer: {error}") from None
                time.sleep(0.5)
