"""The encrypted model field and its blind index, on a model of their own (a table made
for the test), against the configured database."""

import base64
import uuid

import pytest
from django import forms
from django.db import connection, models
from django.test.utils import isolate_apps, override_settings

from cvrtracker.lib import crypto
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.lib.fields import BlindIndexField, EncryptedTextField, IndexedSaveMixin, Sealed

OLD_KEY = base64.b64encode(b"o" * 32).decode()
NEW_KEY = base64.b64encode(b"n" * 32).decode()


@pytest.fixture
def person_model(transactional_db):
    with isolate_apps("cvrtracker.lib"):

        class Person(IndexedSaveMixin, models.Model):
            code = models.UUIDField(default=uuid.uuid4, unique=True)
            email = EncryptedTextField(max_length=254, form_class=forms.EmailField)
            email_index = BlindIndexField(source="email", purpose="email", unique=True)
            name = EncryptedTextField(max_length=20, blank=True)
            note = EncryptedTextField(null=True, blank=True)

            class Meta:
                app_label = "lib"
                db_table = "lib_test_person"

            def __str__(self):
                return str(self.code)

        with connection.schema_editor() as editor:
            editor.create_model(Person)
        try:
            yield Person
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Person)


@pytest.fixture
def master_key():
    """Set MASTER_KEY (and MASTER_KEY_PREVIOUS) for the block, with a fresh provider."""

    def use(current, previous=None):
        crypto.key_provider.cache_clear()
        return override_settings(MASTER_KEY=current, MASTER_KEY_PREVIOUS=previous)

    yield use
    crypto.key_provider.cache_clear()


def raw(column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM lib_test_person WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_values_are_ciphertext_in_the_database_and_plaintext_on_the_instance(person_model):
    person = person_model.objects.create(email="Ada@Example.com", name="Ada Lovelace")
    stored = bytes(raw("email", person.pk))
    assert b"Ada" not in stored and b"example" not in stored.lower()
    assert stored[:1] == b"\x01" and len(stored) == 1 + 12 + len("Ada@Example.com") + 16
    again = person_model.objects.get(pk=person.pk)
    assert isinstance(again.__dict__["email"], Sealed)  # nothing opened before it is read
    assert again.email == "Ada@Example.com" and again.name == "Ada Lovelace"
    assert again.note is None
    assert repr(person_model.objects.values_list("name", flat=True).get()).startswith("<Sealed")


def test_equality_goes_through_the_blind_index(person_model):
    person = person_model.objects.create(email="ada@example.com", name="Ada")
    person_model.objects.create(email="bob@example.com", name="Bob")
    assert person_model.objects.get(email="ada@example.com") == person
    assert person_model.objects.get(email__iexact=" ADA@example.COM ") == person
    assert list(person_model.objects.filter(email__in=["ada@example.com", "x@y.z"])) == [person]
    assert not person_model.objects.filter(email="nobody@example.com").exists()
    assert person_model.objects.filter(email=None).count() == 0
    assert raw("email_index", person.pk) == person.email_index and len(person.email_index) == 64


def test_searches_other_than_equality_and_writes_without_save_are_refused(person_model):
    person_model.objects.create(email="ada@example.com", name="Ada")
    with pytest.raises(TypeError, match="encrypted"):
        list(person_model.objects.filter(email__contains="ada"))
    with pytest.raises(TypeError, match="no blind index"):
        list(person_model.objects.filter(name="Ada"))
    with pytest.raises(TypeError, match="save"):
        person_model.objects.update(name="Eve")


def test_a_value_moved_to_another_row_or_column_does_not_open(person_model):
    ada = person_model.objects.create(email="ada@example.com", name="Ada")
    bob = person_model.objects.create(email="bob@example.com", name="Bob")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE lib_test_person SET name = %s WHERE id = %s",
            [bytes(raw("name", ada.pk)), bob.pk],
        )
    with pytest.raises(DecryptionError):
        _ = person_model.objects.get(pk=bob.pk).name


def test_the_unique_index_refuses_a_second_row_with_the_same_address(person_model):
    from django.db import IntegrityError

    person_model.objects.create(email="ada@example.com")
    with pytest.raises(IntegrityError):
        person_model.objects.create(email="ADA@example.com")


def test_forms_get_a_plain_field_and_validation_sees_the_plaintext(person_model):
    form_field = person_model._meta.get_field("email").formfield()
    assert isinstance(form_field, forms.EmailField) and form_field.max_length == 254
    person = person_model(email="ada@example.com", name="x" * 21)
    with pytest.raises(Exception, match="at most 20"):
        person.full_clean(exclude=["code", "email_index"])


def test_deferred_loading_and_saving_unread_values_keep_them(person_model):
    person = person_model.objects.create(email="ada@example.com", name="Ada")
    light = person_model.objects.only("code").get(pk=person.pk)
    assert light.name == "Ada"
    unread = person_model.objects.get(pk=person.pk)
    before = bytes(raw("name", person.pk))
    unread.save()  # the ciphertext read is written back as it was
    assert bytes(raw("name", person.pk)) == before


def test_rotation_re_encrypts_and_re_indexes_and_the_old_key_then_opens_nothing(
    person_model, master_key
):
    from cvrtracker.front.rotation import RotationReport, encrypted_rows_rotate

    with master_key(OLD_KEY):
        person = person_model.objects.create(email="ada@example.com", name="Ada")
    old_cipher = bytes(raw("name", person.pk))
    with master_key(NEW_KEY, OLD_KEY):
        # During the rotation: old values open and old indexes still match.
        assert person_model.objects.get(email="ada@example.com").name == "Ada"
        report = RotationReport()
        encrypted_rows_rotate(report, models=[person_model])
        assert report.ok
        assert report.rewrapped["lib.Person"] == 1
    with master_key(NEW_KEY):
        again = person_model.objects.get(email="ada@example.com")
        assert again.name == "Ada" and bytes(raw("name", person.pk)) != old_cipher
    with master_key(OLD_KEY):
        with pytest.raises(DecryptionError):
            _ = person_model.objects.get(pk=person.pk).name
        assert not person_model.objects.filter(email="ada@example.com").exists()


def test_saving_only_the_value_also_writes_its_index(person_model):
    person = person_model.objects.create(email="ada@example.com", name="Ada")
    person.email = "ada.new@example.com"
    person.save(update_fields=["email"])
    assert person_model.objects.get(email="ada.new@example.com") == person
    assert not person_model.objects.filter(email="ada@example.com").exists()


@isolate_apps("cvrtracker.lib")
def test_a_model_with_an_index_but_without_the_save_mixin_fails_the_checks():
    class Forgetful(models.Model):
        code = models.UUIDField(default=uuid.uuid4, unique=True)
        email = EncryptedTextField(max_length=254)
        email_index = BlindIndexField(source="email", purpose="email")

        class Meta:
            app_label = "lib"

        def __str__(self):
            return str(self.code)

    errors = Forgetful._meta.get_field("email_index").check()
    assert [e.id for e in errors] == ["cvrtracker.E008"]
