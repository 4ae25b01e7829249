"""api_key_revoke: the key stops working at once, whatever the plan."""

from cvrtracker.api.services import api_key_authenticate, api_key_revoke
from cvrtracker.audit.models import AuditEntry

from .helpers import ApiBillingTestCase


class ApiKeyRevokeTests(ApiBillingTestCase):
    def test_a_revoked_key_no_longer_authenticates(self):
        self.assertEqual(api_key_authenticate(token=self.token), self.key)
        api_key_revoke(key=self.key, actor=self.alice)
        self.assertIsNotNone(self.key.revoked_at)
        self.assertIsNone(api_key_authenticate(token=self.token))

    def test_it_is_audited_once_and_keeps_the_first_time(self):
        api_key_revoke(key=self.key, actor=self.alice)
        first = self.key.revoked_at
        api_key_revoke(key=self.key, actor=self.alice)
        self.assertEqual(self.key.revoked_at, first)
        (entry,) = self.reads(AuditEntry.Action.API_KEY_REVOKED)
        self.assertEqual((entry.actor, entry.target_code), (self.alice, str(self.key.code)))

    def test_a_plan_without_the_api_may_still_revoke(self):
        self.on_starter()
        api_key_revoke(key=self.key, actor=self.alice)
        self.assertTrue(self.key.is_revoked)
