"""api_key_authenticate: the live key of a presented token, or None."""

import hashlib
import secrets
from datetime import timedelta

import time_machine
from django.utils import timezone

from cvrtracker.api.models import ApiKey
from cvrtracker.api.services import PREFIX_LENGTH, api_key_authenticate, api_key_revoke

from .helpers import ApiTestCase


class ApiKeyAuthenticateTests(ApiTestCase):
    def test_it_finds_the_key_and_its_team(self):
        key = api_key_authenticate(token=self.token)
        self.assertEqual((key, key.team), (self.key, self.team))

    def test_it_refuses_anything_but_the_exact_token(self):
        wrong_end = self.token[:-1] + ("A" if self.token[-1] != "A" else "B")
        for token in (
            "",
            wrong_end,  # the prefix matches, the secret does not
            self.token[:-1],
            self.token + "x",
            self.token.removeprefix("cvrt_"),
            self.token.upper(),
            "cvrt_" + "x" * 500,
        ):
            with self.subTest(token=token[:20]):
                self.assertIsNone(api_key_authenticate(token=token))

    def test_keys_sharing_a_prefix_are_told_apart(self):
        # Six random characters collide now and then across all teams' keys.
        twin_token = self.token[:PREFIX_LENGTH] + secrets.token_urlsafe(32)
        twin = ApiKey.objects.create(
            team=self.charlies_team,
            name="Twin",
            prefix=self.key.prefix,
            digest=hashlib.sha256(twin_token.encode()).hexdigest(),
        )
        self.assertEqual(api_key_authenticate(token=self.token), self.key)
        self.assertEqual(api_key_authenticate(token=twin_token), twin)

    def test_a_revoked_key_is_refused(self):
        api_key_revoke(key=self.key, actor=self.alice)
        self.assertIsNone(api_key_authenticate(token=self.token))

    def test_it_notes_the_last_use_once_a_minute_at_most(self):
        now = timezone.now()
        with time_machine.travel(now, tick=False):
            api_key_authenticate(token=self.token)
        with time_machine.travel(now + timedelta(seconds=30), tick=False):
            api_key_authenticate(token=self.token)
        self.key.refresh_from_db()
        self.assertEqual(self.key.last_used_at, now)
        with time_machine.travel(now + timedelta(seconds=61), tick=False):
            api_key_authenticate(token=self.token)
        self.key.refresh_from_db()
        self.assertEqual(self.key.last_used_at, now + timedelta(seconds=61))
