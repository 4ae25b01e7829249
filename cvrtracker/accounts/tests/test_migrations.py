"""The migrations that encrypt the accounts app's personal data and authenticator seeds
convert the rows a deployed site already has (and going back decrypts them)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cvrtracker.accounts.models import AuthenticatorDevice, Invitation, Team, User, UserSession

BEFORE = ("accounts", "0004_team_deletion_requested_at_and_more")
AFTER = ("accounts", "0005_encrypt_personal_data")
DEVICES = ("accounts", "0006_authenticator_device")
TABLE = "accounts_authenticatordevice"
OTP = ("otp_totp", "0003_add_timestamps")


def migrate(target):
    """Migrate to `target` and return the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def raw(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_existing_rows_are_encrypted_and_found_by_their_address():
    old = migrate([BEFORE])
    team = old.get_model("accounts", "Team").objects.create(name="Quill Goods")
    user = old.get_model("accounts", "User").objects.create(
        email="ada@example.org", name="Ada Quill", pending_email="ada@new.example", password="!"
    )
    old.get_model("accounts", "User").objects.create(email="bob@example.org", name="Bob")
    old.get_model("accounts", "Invitation").objects.create(team=team, email="cy@example.org")
    old.get_model("accounts", "UserSession").objects.create(
        user=user, session_key="k" * 32, ip="2001:db8::1", user_agent="QuillBrowser/1"
    )
    old.get_model("accounts", "UserSession").objects.create(user=user, session_key="n" * 32)
    try:
        migrate([AFTER])

        ada = User.objects.get(email="ADA@example.org")
        assert (ada.code, ada.name) == (user.code, "Ada Quill")
        assert ada.pending_email == "ada@new.example"
        assert User.objects.get(email="bob@example.org").pending_email == ""
        assert Team.objects.get(code=team.code).name == "Quill Goods"
        assert Invitation.objects.get(email__iexact="cy@example.org").team.code == team.code
        session = UserSession.objects.get(session_key="k" * 32)
        assert (session.ip, session.user_agent) == ("2001:db8::1", "QuillBrowser/1")
        bare = UserSession.objects.get(session_key="n" * 32)
        assert (bare.ip, bare.user_agent) == (None, "")
        user_columns = "SELECT email, name, pending_email FROM accounts_user WHERE id = "
        stored = b"".join(
            bytes(value)
            for value in raw(f"{user_columns}{ada.pk}")
            + raw("SELECT name FROM accounts_team")
            + raw("SELECT email FROM accounts_invitation")
            + raw(f"SELECT ip, user_agent FROM accounts_usersession WHERE id = {session.pk}")  # noqa: S608
        )
        for plain in (b"ada", b"Quill", b"example", b"cy@", b"2001", b"Browser"):
            assert plain not in stored

        # Back again: the plaintext columns come back filled.
        back = migrate([BEFORE]).get_model("accounts", "User").objects.get(pk=ada.pk)
        assert (back.email, back.name, back.pending_email) == (
            "ada@example.org",
            "Ada Quill",
            "ada@new.example",
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_authenticator_seeds_move_to_the_encrypted_model():
    seed = "3132333435363738393031323334353637383930"
    old = migrate([AFTER, OTP])
    user = old.get_model("accounts", "User").objects.create(email="ada@example.org", name="Ada")
    device = old.get_model("otp_totp", "TOTPDevice").objects.create(
        user_id=user.pk, name="Phone", key=seed, confirmed=True, last_t=42
    )
    try:
        migrate([DEVICES])

        moved = AuthenticatorDevice.objects.get(user_id=user.pk)
        assert (moved.key, moved.name, moved.last_t, moved.confirmed) == (seed, "Phone", 42, True)
        assert moved.created_at == device.created_at
        stored = bytes(raw(f"SELECT key FROM {TABLE} WHERE id = {moved.pk}")[0])  # noqa: S608
        assert seed.encode() not in stored and bytes.fromhex(seed) not in stored
        assert not raw("SELECT count(*) FROM otp_totp_totpdevice")[0]

        back = migrate([AFTER, OTP]).get_model("otp_totp", "TOTPDevice").objects.get()
        assert (back.key, back.last_t) == (seed, 42)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
