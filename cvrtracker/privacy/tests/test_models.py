"""Personal data in the privacy app's tables is encrypted at rest (issue 15): the raw
columns hold no plaintext, the rows read back as before."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from cvrtracker.privacy.models import RightsRequest, SupportRequest, UsageEvent
from cvrtracker.test import BaseTestCase

CANARY = "Zyxcanary"


def raw_row(model, pk) -> dict:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def as_bytes(value) -> bytes:
    if isinstance(value, memoryview | bytes):
        return bytes(value)
    return str(value).encode()


class EncryptedAtRestTests(BaseTestCase):
    def assertNoPlaintext(self, model, pk, *plaintexts):
        row = raw_row(model, pk)
        for column, value in row.items():
            for plain in plaintexts:
                self.assertNotIn(plain.encode().lower(), as_bytes(value).lower(), column)

    def test_usage_events(self):
        event = UsageEvent.objects.create(
            user=self.alice,
            ip="198.51.100.23",
            user_agent=f"{CANARY}Browser/1.0",
            method="GET",
            path=f"/{CANARY}-page/",
        )
        self.assertNoPlaintext(UsageEvent, event.pk, "198.51.100.23", CANARY)
        again = UsageEvent.objects.get(pk=event.pk)
        self.assertEqual(
            (again.ip, again.user_agent, again.path),
            ("198.51.100.23", f"{CANARY}Browser/1.0", f"/{CANARY}-page/"),
        )

    def test_rights_requests(self):
        item = RightsRequest.objects.create(
            kind=RightsRequest.Kind.ACCESS,
            name=f"Ada {CANARY}",
            email=f"{CANARY}@example.org",
            details=f"{CANARY} details",
            answer=f"{CANARY} answer",
            due_at=timezone.now() + timedelta(days=45),
        )
        self.assertNoPlaintext(RightsRequest, item.pk, CANARY)
        again = RightsRequest.objects.get(pk=item.pk)
        self.assertEqual((again.name, again.email), (f"Ada {CANARY}", f"{CANARY}@example.org"))
        self.assertEqual((again.details, again.answer), (f"{CANARY} details", f"{CANARY} answer"))

    def test_support_requests(self):
        item = SupportRequest.objects.create(
            name=f"Ada {CANARY}",
            email=f"{CANARY}@example.org",
            subject=f"{CANARY} subject",
            message=f"{CANARY} message",
        )
        item.answer = f"{CANARY} answer"
        item.save(update_fields=["answer"])
        self.assertNoPlaintext(SupportRequest, item.pk, CANARY)
        again = SupportRequest.objects.get(pk=item.pk)
        self.assertEqual(
            (again.name, again.email, again.subject, again.message, again.answer),
            (
                f"Ada {CANARY}",
                f"{CANARY}@example.org",
                f"{CANARY} subject",
                f"{CANARY} message",
                f"{CANARY} answer",
            ),
        )
