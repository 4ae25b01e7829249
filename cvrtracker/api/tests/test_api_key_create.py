"""api_key_create: a key whose secret is returned once and never stored."""

import hashlib

from cvrtracker.api.models import ApiKey
from cvrtracker.api.services import PREFIX_LENGTH, api_key_create
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import PlanLimitError
from cvrtracker.metrics.tests.helpers import raw_table_bytes

from .helpers import ApiBillingTestCase


class ApiKeyCreateTests(ApiBillingTestCase):
    def create(self, name="BI tool"):
        return api_key_create(team=self.team, name=name, actor=self.alice)

    def test_the_token_is_random_and_marked_as_ours(self):
        first, second = self.create(), self.create()
        self.assertTrue(first.token.startswith("cvrt_"))
        self.assertGreaterEqual(len(first.token), 5 + 43)  # 32 random bytes, base64url
        self.assertNotEqual(first.token, second.token)
        self.assertEqual(first.key.prefix, first.token[:PREFIX_LENGTH])
        self.assertEqual(len(first.key.prefix), len("cvrt_ab12cd"))

    def test_only_the_digest_of_the_secret_is_stored(self):
        created = self.create()
        stored = ApiKey.objects.get(code=created.key.code)
        self.assertEqual(stored.digest, hashlib.sha256(created.token.encode()).hexdigest())
        # Nothing past the displayed prefix is anywhere in the table, in any column.
        raw = raw_table_bytes("api_apikey")
        self.assertIn(created.key.prefix.encode(), raw)
        self.assertNotIn(created.token[PREFIX_LENGTH:].encode(), raw)
        self.assertNotIn(created.token[-12:].encode(), raw)

    def test_it_belongs_to_the_team_and_is_audited(self):
        created = self.create()
        self.assertEqual((created.key.team, created.key.created_by), (self.team, self.alice))
        entry = AuditEntry.objects.get(
            action=AuditEntry.Action.API_KEY_CREATED, target_code=str(created.key.code)
        )
        self.assertEqual(
            (entry.actor, entry.team, entry.target_type), (self.alice, self.team, "apikey")
        )

    def test_a_plan_without_the_api_refuses_it(self):
        self.on_starter()
        before = ApiKey.objects.count()
        with self.assertRaises(PlanLimitError) as refused:
            self.create()
        self.assertIn("The API is not part of your Starter plan", refused.exception.message)
        self.assertEqual(refused.exception.upgrade_url, "/billing/")
        self.assertEqual(ApiKey.objects.count(), before)

    def test_a_read_only_team_cannot_make_one(self):
        self.end_the_trial()
        with self.assertRaises(PlanLimitError) as refused:
            self.create()
        self.assertIn("read-only", refused.exception.message)
