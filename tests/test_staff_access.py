"""Staff have no way into a customer's data (issue 13, point 3).

There is no Django admin. The staff flag makes two-factor log-in compulsory and
opens only the pages where staff answer privacy rights and support requests
(privacy/staff.py; they show no Amazon data). These tests keep it so: a view,
access helper or service that starts to look at `is_staff` or `is_superuser` (and
so could open a customer's data to us) fails here until it is designed to require
a second factor, ask for a reason and write to that customer's access log.
"""

import re
from pathlib import Path

from django.conf import settings
from django.urls import get_resolver, reverse
from django_otp import DEVICE_ID_SESSION_KEY

from cvrtracker.accounts import mfa
from cvrtracker.accounts.models import User
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.test import BaseTestCase, make_user
from tests.test_url_access import named_patterns

PACKAGE = Path(__file__).resolve().parents[1] / "cvrtracker"
STAFF_CHECK = re.compile(
    r"\bis_staff\b|\bis_superuser\b|staff_member_required|user_passes_test|permission_required"
    r"|has_perm\b|contrib\.admin"
)
# Where the staff flag may be read, and why.
ALLOWED = {
    "accounts/models.py",  # create_superuser sets it
    "accounts/mfa.py",  # staff must use two-factor log-in
    # staff answer privacy rights and support requests; no Amazon data
    "privacy/staff.py",
}


def staff_checks(source: str) -> list[str]:
    """The lines of `source` that test for staff or permissions."""
    return [line.strip() for line in source.splitlines() if STAFF_CHECK.search(line)]


def test_no_admin_site_is_installed_or_mounted():
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    modules = {pattern.callback.__module__ for _, pattern in named_patterns()}
    assert modules, "the URLconf walk found no views"
    assert not [m for m in modules if m.startswith("django.contrib.admin")]
    assert not [p for p in get_resolver().url_patterns if "admin" in str(p.pattern)]


def test_no_code_gives_staff_more_access():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if "/tests/" in f"/{relative}" or "/migrations/" in relative or relative in ALLOWED:
            continue
        lines = staff_checks(path.read_text())
        if lines:
            found[relative] = lines
    assert found == {}, f"staff or permission checks outside {sorted(ALLOWED)}: {found}"


def test_the_scan_catches_a_staff_check():
    # Control: the same scan flags what a staff view would contain.
    planted = "def view(request):\n    if request.user.is_superuser:\n        return everything()\n"
    assert staff_checks(planted) == ["if request.user.is_superuser:"]
    assert staff_checks("from django.contrib.admin.views.decorators import x") != []


class SuperuserTests(BaseTestCase):
    def setUp(self):
        self.connection = SellerConnection.objects.create(
            team=self.team, region="NA", selling_partner_id="A1STAFFTEST"
        )
        self.root = make_user("root@example.org")
        User.objects.filter(pk=self.root.pk).update(is_staff=True, is_superuser=True)
        self.root.refresh_from_db()
        device = mfa.mfa_enrolment_device(user=self.root)
        device.confirmed = True
        device.save()
        self.client.force_login(self.root)
        session = self.client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    def test_a_superuser_with_two_factor_gets_404_on_a_customers_data(self):
        code = {"code": self.connection.code}
        for url in (
            reverse("amazon:products", kwargs=code),
            reverse("listings:account_changes", kwargs=code),
            "/admin/",
            "/admin/accounts/user/",
        ):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 404, url)
            self.assertNotContains(response, "A1STAFFTEST", status_code=404)
        response = self.client.post(reverse("amazon:disconnect", kwargs=code))
        self.assertEqual(response.status_code, 404)
        self.connection.refresh_from_db()
        self.assertNotEqual(self.connection.status, SellerConnection.Status.DISCONNECTED)
        # Control: the same session opens its own pages.
        self.assertEqual(self.client.get("/accounts/settings/security/").status_code, 200)
