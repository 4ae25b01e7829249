from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cvrtracker.accounts.models import User


@pytest.mark.django_db
def test_it_creates_the_demo_user_once_and_prints_a_working_login(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first, second = StringIO(), StringIO()
    call_command("demo_setup", stdout=first)
    call_command("demo_setup", stdout=second)
    assert first.getvalue() == second.getvalue()
    email, password = first.getvalue().split("Demo login: ")[1].strip().split(" / ")
    user = User.objects.get(email=email)
    assert user.check_password(password)
    assert user.email_verified
    assert user.membership.is_owner
    assert (tmp_path / "demo-login.txt").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_it_refuses_to_run_on_a_production_site(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SECURE = True
    with pytest.raises(CommandError):
        call_command("demo_setup")
    assert not User.objects.exists()
