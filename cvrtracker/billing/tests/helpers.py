import json
import time

import pytest
import stripe
from django.urls import reverse

from cvrtracker.accounts.models import User
from cvrtracker.billing.models import Subscription
from cvrtracker.billing.services import subscription_for_team
from cvrtracker.billing.testing import FakeStripe, fixture
from cvrtracker.billing.tests.conftest import WEBHOOK_SECRET
from cvrtracker.test import BaseTestCase

DAY = 86400
WEBHOOK = "/billing/webhook/"


class BillingTestCase(BaseTestCase):
    stripe: FakeStripe

    @pytest.fixture(autouse=True)
    def _stripe(self, stripe_server):
        self.stripe = stripe_server

    def sign(self, payload: str, *, secret: str = WEBHOOK_SECRET, timestamp=None) -> str:
        return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)

    def post_event(self, event: dict, *, payload: str | None = None, **sign_kwargs):
        """Deliver a signed event to the webhook, running on-commit work (emails)."""
        payload = payload if payload is not None else json.dumps(event)
        header = self.sign(payload, **sign_kwargs)
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(
                WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
            )

    def put_sub(self, **kwargs) -> dict:
        """Alice's team's subscription as Stripe holds it."""
        kwargs.setdefault("customer", "cus_alice")
        kwargs.setdefault("team_code", str(self.team.code))
        return self.stripe.put_subscription(**kwargs)

    def send(self, type: str, obj: dict, **kwargs):
        response = self.post_event(self.stripe.event(type, obj, **kwargs))
        assert response.status_code == 200, response.content
        return response

    def subscribe(self, **kwargs) -> dict:
        """Alice's team subscribed through Checkout, as the webhook reports it."""
        remote = self.put_sub(**kwargs)
        session = fixture("checkout.session")
        session.update(
            mode="subscription",
            status="complete",
            client_reference_id=str(self.team.code),
            customer=remote["customer"],
            subscription=remote["id"],
        )
        self.send("checkout.session.completed", session)
        return remote

    def sub(self, team=None) -> Subscription:
        return subscription_for_team(team=team or self.team)

    def page_text(self, user: User | None = None) -> str:
        self.client.force_login(user or self.alice)
        return self.client.get(reverse("billing:page")).content.decode()

    @staticmethod
    def now() -> int:
        return int(time.time())
