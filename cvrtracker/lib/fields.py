"""Encrypted model fields for data that is not Amazon's: names, email and IP addresses,
browsers, pages visited, support and rights requests (issue 15).

Amazon data is encrypted under each seller connection's own data key (crypto.py).
Personal data belongs to no connection, so it is encrypted under a key of its own,
derived (HKDF-SHA256) from the master key: `personal_keys()`. The database never sees
that key, so a dump of it, or a backup, holds only ciphertext.

    class Person(models.Model):
        code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
        email = EncryptedTextField(max_length=254, form_class=forms.EmailField)
        email_index = BlindIndexField(source="email", purpose="email", unique=True)
        name = EncryptedTextField(max_length=150)

- On the instance the attribute is always the plaintext `str` (or None): read, compare
  and assign it as before. Rows read from the database hold the ciphertext until the
  attribute is first read (`Sealed`), so loading many rows decrypts nothing.
- In the database the column holds AES-256-GCM ciphertext (crypto.py's format) whose
  associated data names the table, the row (its public `code` by default, known
  before the insert) and the column, so a value copied into another row or column
  does not open.
- `pre_save` encrypts, so `save()`, `create()` and `bulk_create()` work. Writing plaintext
  any other way (`QuerySet.update(name=...)`, `bulk_update`) raises `TypeError`: assign
  and save instead.
- Only equality can be searched, and only where a `BlindIndexField` sits beside the
  field: `filter(email=x)`, `email__iexact=x`, `email__in=[...]` compare a keyed
  HMAC of the normalised value (lower case, stripped) in the index column;
  `filter(field=sealed)` with a ciphertext as read compares the column. Every other
  lookup raises; ordering by the field would order ciphertexts: don't.
- `values()`/`values_list()` give the ciphertext (`Sealed`), not the plaintext: read
  model instances instead.
- During a master-key rotation (MASTER_KEY_PREVIOUS set) values encrypted under the
  previous key still open, and a lookup matches either key's index;
  `encrypted_rows_rotate` (front/rotation.py) re-encrypts and re-indexes the rows.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django import forms
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv4_address
from django.db import models
from django.db.models.lookups import Lookup
from django.db.models.query_utils import DeferredAttribute
from django.utils.functional import cached_property
from django.utils.ipv6 import clean_ipv6_address

from cvrtracker.lib.crypto import (
    VERSION,
    DecryptionError,
    _open,
    _seal,
    associated_data,
    key_provider,
)

PERSONAL_INFO = b"cvrt personal-data v1"
INDEX_INFO = b"cvrt personal-index v1"


def personal_keys() -> list[bytes]:
    """The personal-data encryption keys: the current one first."""
    return key_provider().derived_keys(info=PERSONAL_INFO)


def index_keys() -> list[bytes]:
    """The blind-index keys: the current one first."""
    return key_provider().derived_keys(info=INDEX_INFO)


def normalise(value: str) -> str:
    """How a value is compared by its blind index: case and surrounding space ignored."""
    return value.strip().lower()


def blind_indexes(purpose: str, value: str) -> list[str]:
    """The keyed HMAC-SHA256 (hex) of `value` for `purpose`, one per index key
    (the current key's first)."""
    data = f"{purpose}|{normalise(value)}".encode()
    return [hmac.new(key, data, hashlib.sha256).hexdigest() for key in index_keys()]


@lru_cache(maxsize=4)
def _cipher(key: bytes) -> AESGCM:
    """The AES-GCM object of a personal-data key, built once per key and process."""
    return AESGCM(key)


def seal(value: str, *, aad: bytes) -> bytes:
    """`value` encrypted under the current personal-data key."""
    return _seal(_cipher(personal_keys()[0]), value.encode(), aad, VERSION)


def unseal(blob: bytes, *, aad: bytes) -> str:
    """The plaintext of `blob`, under whichever personal-data key opens it."""
    error = None
    for key in personal_keys():
        try:
            return _open(_cipher(key), blob, aad, VERSION).decode()
        except DecryptionError as exc:
            error = exc
    raise error


def is_current(blob: bytes, *, aad: bytes) -> bool:
    """Whether the current personal-data key opens `blob` (rotation done for it)."""
    try:
        _open(_cipher(personal_keys()[0]), blob, aad, VERSION)
    except DecryptionError:
        return False
    return True


class Sealed(bytes):
    """A ciphertext read from the database and not opened yet. Its repr and str never
    show its bytes."""

    def __repr__(self) -> str:
        return f"<Sealed {len(self)} bytes>"

    __str__ = __repr__


class EncryptedDescriptor(DeferredAttribute):
    """Gives the plaintext on read (opening the ciphertext once, on first read), and
    keeps what is assigned. A data descriptor, so every read goes through it."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        data = instance.__dict__
        name = self.field.attname
        if name not in data:
            super().__get__(instance, cls)  # a deferred field: loads it
        value = data[name]
        if isinstance(value, Sealed):
            value = data[name] = unseal(value, aad=self.field.aad(instance))
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.BinaryField):
    """A text column stored as AES-256-GCM ciphertext under the personal-data key.

    `row` names the attribute that identifies the row in the associated data (a UUID
    set before the insert; `code` by default). `max_length` limits the plaintext.
    `form_class` is the form field a ModelForm gets (CharField by default)."""

    descriptor_class = EncryptedDescriptor

    def __init__(
        self,
        *args,
        row: str = "code",
        form_class: type[forms.Field] = forms.CharField,
        **kwargs,
    ):
        self.row = row
        self.form_class = form_class
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.row != "code":
            kwargs["row"] = self.row
        if self.editable:
            kwargs.pop("editable", None)
        else:
            kwargs["editable"] = False
        return name, path, args, kwargs

    @cached_property
    def index_field(self) -> BlindIndexField | None:
        """The blind index kept beside this field, if any."""
        for field in self.model._meta.concrete_fields:
            if isinstance(field, BlindIndexField) and field.source == self.name:
                return field
        return None

    def aad(self, instance) -> bytes:
        row = getattr(instance, self.row)
        if row is None or row == "":
            raise ValueError(
                f"{self.model.__name__}.{self.row} must be set before {self.attname} is "
                "encrypted or read"
            )
        return associated_data(self.model._meta.db_table, str(row), self.attname)

    def get_default(self):
        if self.has_default():
            return super().get_default()
        return None if self.null else ""

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Sealed):
            return value
        if not isinstance(value, str):
            raise TypeError(f"{self.attname} takes a str, not {type(value).__name__}")
        return Sealed(seal(value, aad=self.aad(model_instance)))

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is not None and not isinstance(value, bytes | memoryview):
            raise TypeError(
                f"{self.model.__name__}.{self.attname} is encrypted when a model instance "
                "is saved: assign it and call save() (QuerySet.update() and bulk_update() "
                "cannot encrypt it)"
            )
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return Sealed(bytes(value))

    def to_python(self, value):
        return value

    def value_to_string(self, obj):
        raise NotImplementedError(
            f"{self.model.__name__}.{self.attname} is encrypted: serialise rows with "
            "`manage.py backup`, not Django's serialisers"
        )

    def formfield(self, **kwargs):
        defaults = {
            "form_class": self.form_class,
            "max_length": self.max_length,
            "required": not self.blank,
        }
        defaults.update(kwargs)
        form_class = defaults.pop("form_class")
        return form_class(**defaults)

    def get_lookup(self, lookup_name):
        lookup = _INDEX_LOOKUPS.get(lookup_name)
        if lookup is not None or lookup_name == "isnull":
            return lookup or super().get_lookup(lookup_name)
        return _refused(lookup_name)

    def get_transform(self, lookup_name):
        return None


class BlindIndexField(models.CharField):
    """The keyed HMAC of another field's normalised plaintext, for equality lookups on
    it (set on every save). `purpose` separates indexes: fields that share one (every
    email address column, say) can be matched against each other."""

    def __init__(self, *args, source: str, purpose: str, **kwargs):
        self.source = source
        self.purpose = purpose
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"], kwargs["purpose"] = self.source, self.purpose
        for key, default in (("max_length", 64), ("editable", False), ("blank", True)):
            if kwargs.get(key) == default:
                del kwargs[key]
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not issubclass(self.model, IndexedSaveMixin):
            # Without it, save(update_fields=[source]) would keep the old value's index.
            errors.append(
                checks.Error(
                    f"{self.model.__name__} has a BlindIndexField but does not inherit "
                    "IndexedSaveMixin.",
                    hint="Add cvrtracker.lib.fields.IndexedSaveMixin to its bases, before "
                    "models.Model.",
                    obj=self,
                    id="cvrtracker.E008",
                )
            )
        return errors

    def index(self, value: str | None) -> str | None:
        """The current key's index of `value` (None, or "" if the column takes no NULL,
        for no value)."""
        if value is None:
            return None if self.null else ""
        return blind_indexes(self.purpose, value)[0]

    def pre_save(self, model_instance, add):
        value = self.index(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


class _IndexLookup(Lookup):
    """Equality on an encrypted field, answered by its blind index column."""

    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_prep_lookup(self):
        if hasattr(self.rhs, "resolve_expression"):
            raise TypeError("an encrypted field can only be compared with plain values")
        return self.rhs

    def _indexes(self) -> list[str]:
        field = self.lhs.target
        values = self.rhs if self.lookup_name == "in" else [self.rhs]
        out: list[str] = []
        for value in values:
            if value is not None:
                out.extend(blind_indexes(field.index_field.purpose, str(value)))
        return out

    def as_sql(self, compiler, connection):
        field = getattr(self.lhs, "target", None)
        if self.lookup_name == "exact" and isinstance(self.rhs, bytes):
            # A ciphertext as read (Sealed): the column itself is compared, as a
            # conditional update that must not overwrite a newer value does.
            lhs_sql, lhs_params = compiler.compile(self.lhs)
            return f"{lhs_sql} = %s", [*lhs_params, bytes(self.rhs)]
        if not isinstance(field, EncryptedTextField) or field.index_field is None:
            raise TypeError(
                f"{getattr(field, 'attname', 'this field')} is encrypted and has no blind "
                "index: it cannot be searched"
            )
        lhs_sql, lhs_params = compiler.compile(field.index_field.get_col(self.lhs.alias))
        indexes = self._indexes()
        if not indexes:
            return "1 = 0", []
        marks = ", ".join(["%s"] * len(indexes))
        return f"{lhs_sql} IN ({marks})", [*lhs_params, *indexes]


class _IndexExact(_IndexLookup):
    lookup_name = "exact"


class _IndexIExact(_IndexLookup):
    lookup_name = "iexact"


class _IndexIn(_IndexLookup):
    lookup_name = "in"

    def get_prep_lookup(self):
        if hasattr(self.rhs, "resolve_expression") or not isinstance(self.rhs, Iterable):
            raise TypeError("`__in` on an encrypted field takes a list of plain values")
        return list(self.rhs)


_INDEX_LOOKUPS = {cls.lookup_name: cls for cls in (_IndexExact, _IndexIExact, _IndexIn)}


def _refused(lookup_name: str) -> Callable:
    def refuse(*args, **kwargs):
        raise TypeError(
            f"`__{lookup_name}` cannot search an encrypted field: only equality through "
            "its blind index can"
        )

    return refuse


def ip_normalise(value: str | None) -> str | None:
    """An IP address as GenericIPAddressField stored it (IPv6 compressed, Django's
    clean_ipv6_address), for encrypted columns that replaced one, or None for none or
    something that is not an address. The audit chain hashes this text."""
    if not value:
        return None
    value = value.strip()
    try:
        if ":" in value:
            return clean_ipv6_address(value)
        validate_ipv4_address(value)
    except ValidationError:
        return None
    return value


class IndexedSaveMixin:
    """For models with a BlindIndexField: `save(update_fields=[...])` naming an encrypted
    field also writes its blind index, which would otherwise keep the old value's."""

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None:
            update_fields = set(update_fields)
            for field in self._meta.concrete_fields:
                if isinstance(field, BlindIndexField) and field.source in update_fields:
                    update_fields.add(field.name)
        super().save(*args, update_fields=update_fields, **kwargs)


def encrypted_fields(model) -> list[EncryptedTextField]:
    """The model's encrypted columns."""
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
