"""api_key_throttle: one shared token bucket per key, refilled over the minute."""

from datetime import timedelta

import time_machine
from django.test import override_settings
from django.utils import timezone

from cvrtracker.api.ratelimit import api_key_throttle
from cvrtracker.api.services import api_key_create

from .helpers import ApiTestCase


@override_settings(API_RATE_LIMIT_PER_MINUTE=6, API_RATELIMIT_STORAGE="database")
class ApiKeyThrottleTests(ApiTestCase):
    def test_a_full_minute_may_be_spent_at_once_then_one_call_per_interval(self):
        now = timezone.now()
        with time_machine.travel(now, tick=False):
            self.assertEqual([api_key_throttle(key=self.key) for _ in range(6)], [0] * 6)
            # Six a minute refill one every ten seconds.
            self.assertEqual(api_key_throttle(key=self.key), 10)
        with time_machine.travel(now + timedelta(seconds=10), tick=False):
            self.assertEqual(api_key_throttle(key=self.key), 0)
            self.assertGreater(api_key_throttle(key=self.key), 0)

    def test_each_key_has_its_own_bucket(self):
        other = api_key_create(team=self.team, name="Other", actor=self.alice).key
        now = timezone.now()
        with time_machine.travel(now, tick=False):
            for _ in range(6):
                api_key_throttle(key=self.key)
            self.assertGreater(api_key_throttle(key=self.key), 0)
            self.assertEqual(api_key_throttle(key=other), 0)
