"""Login with Amazon: the registered app, authorization codes, refresh and access tokens.

Codes live 5 minutes and work once, access tokens live 3600 s, and revoking a
seller's grant kills its refresh tokens (and, in the simulator, its access
tokens at once, so tests see the revocation without waiting an hour).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

CODE_LIFETIME = timedelta(minutes=5)
ACCESS_TOKEN_LIFETIME = 3600

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.simulator"
DEFAULT_CLIENT_SECRET = "sim-secret"  # noqa: S105 - the simulator's public demo credential
DEFAULT_APPLICATION_ID = "amzn1.sp.solution.simulator"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:8000/amazon/callback/,http://localhost:8000/amazon/callback/"
)


def default_redirect_uris() -> str:
    """The demo app's registered callbacks: the port-8000 ones, and the running site's
    (settings.AMAZON_REDIRECT_URI, which follows PORT and SITE_ROOT) under 127.0.0.1 and
    localhost alike, so `PORT=9000 make run` connects without MD5101."""
    uris = DEFAULT_REDIRECT_URIS.split(",")
    site = getattr(settings, "AMAZON_REDIRECT_URI", "") if settings.configured else ""
    if site:
        for uri in (
            site,
            site.replace("//127.0.0.1:", "//localhost:"),
            site.replace("//localhost:", "//127.0.0.1:"),
        ):
            if uri not in uris:
                uris.append(uri)
    return ",".join(uris)


@dataclass(frozen=True)
class AppRegistration:
    client_id: str
    # Kept out of repr, as the token maps below, so no traceback or debug page prints it.
    client_secret: str = field(repr=False)
    application_id: str
    redirect_uris: tuple[str, ...]
    draft: bool
    # Optional log-in URI: Amazon sends the seller there first (the Appstore-style hop).
    login_uri: str = ""
    # During a rotation of the client secret ("Rotate your Application's LWA
    # Credentials", every 180 days) the secret it replaces still works until it
    # is expired; "" when there is none.
    previous_client_secret: str = field(default="", repr=False)

    @classmethod
    def from_env(cls) -> AppRegistration:
        uris = os.environ.get("SIM_REDIRECT_URIS") or default_redirect_uris()
        return cls(
            client_id=os.environ.get("SIM_LWA_CLIENT_ID", DEFAULT_CLIENT_ID),
            client_secret=os.environ.get("SIM_LWA_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
            application_id=os.environ.get("SIM_APPLICATION_ID", DEFAULT_APPLICATION_ID),
            redirect_uris=tuple(u.strip() for u in uris.split(",") if u.strip()),
            draft=os.environ.get("SIM_APP_DRAFT", "1").lower() in ("1", "true", "yes"),
            login_uri=os.environ.get("SIM_LOGIN_URI", ""),
            previous_client_secret=os.environ.get("SIM_LWA_CLIENT_SECRET_PREVIOUS", ""),
        )

    def accepts(self, client_id: str, client_secret: str) -> bool:
        """True for our client id with the current or (during a rotation) previous secret."""
        valid = [s for s in (self.client_secret, self.previous_client_secret) if s]
        # Every candidate compared, so the timing does not tell which one matched.
        matches = [secrets.compare_digest(client_secret.encode(), s.encode()) for s in valid]
        return client_id == self.client_id and any(matches)


class GrantError(Exception):
    """An LWA error answer: `error`, `description` and the HTTP status Amazon uses."""

    def __init__(self, error: str, description: str, status: int = 400):
        self.error, self.description, self.status = error, description, status
        super().__init__(f"{error}: {description}")

    def body(self) -> dict:
        return {"error_description": self.description, "error": self.error}


def invalid_grant(parameter: str) -> GrantError:
    if parameter == "refresh_token":
        return GrantError(
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token. "
            "User may have revoked or didn't grant the permission.",
        )
    return GrantError("invalid_grant", f"The request has an invalid grant parameter : {parameter}")


@dataclass
class _Code:
    seller_id: str
    issued: datetime
    redirect_uri: str
    used: bool = False


@dataclass
class AccessToken:
    seller_id: str | None  # None for grantless (client_credentials) tokens
    expires: datetime
    scope: str = ""


@dataclass
class Grants:
    app: AppRegistration
    # Where refresh grants outlive a restart (`amazonsim` keeps them under var/sim),
    # as Amazon's do: a second `make run` finds the demo seller still connected.
    # None keeps them in memory only (tests).
    store: Path | None = None
    _codes: dict[str, _Code] = field(default_factory=dict, repr=False)
    _refresh: dict[str, str] = field(default_factory=dict, repr=False)
    _access: dict[str, AccessToken] = field(default_factory=dict, repr=False)
    # Tokens of revoked grants, kept so that later calls still count against the seller.
    _dead: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.store is not None and self.store.exists():
            saved = json.loads(self.store.read_text())
            self._refresh.update(saved.get("refresh", {}))

    def _save(self) -> None:
        """Write the refresh grants; the caller holds the lock."""
        if self.store is None:
            return
        self.store.parent.mkdir(parents=True, exist_ok=True)
        partial = self.store.with_suffix(".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"refresh": self._refresh}, handle)
        partial.replace(self.store)

    def check_client(self, client_id: str, client_secret: str) -> None:
        if not self.app.accepts(client_id, client_secret):
            raise GrantError("invalid_client", "Client authentication failed", status=401)

    def rotate_secret(self, new_secret: str | None = None) -> AppRegistration:
        """A new client secret; the current one stays valid as the previous one.

        Refresh tokens are tied to the client id, not the secret, so every grant
        survives (LWA Credentials FAQ).
        """
        with self._lock:
            self.app = replace(
                self.app,
                client_secret=new_secret or "sim-secret-" + secrets.token_urlsafe(16),
                previous_client_secret=self.app.client_secret,
            )
        return self.app

    def expire_previous_secret(self) -> AppRegistration:
        """End the rotation: only the current secret works from now on."""
        with self._lock:
            self.app = replace(self.app, previous_client_secret="")
        return self.app

    def issue_code(self, seller_id: str, redirect_uri: str, now: datetime) -> str:
        code = "ANSim" + secrets.token_urlsafe(15)
        with self._lock:
            self._codes[code] = _Code(seller_id, now, redirect_uri)
        return code

    def issue_refresh_token(self, seller_id: str) -> str:
        token = "Atzr|" + secrets.token_urlsafe(48)
        with self._lock:
            self._refresh[token] = seller_id
            self._save()
        return token

    def _issue_access(self, seller_id: str | None, now: datetime, scope: str = "") -> dict:
        token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._access[token] = AccessToken(
                seller_id, now + timedelta(seconds=ACCESS_TOKEN_LIFETIME), scope
            )
        return {"access_token": token, "token_type": "bearer", "expires_in": ACCESS_TOKEN_LIFETIME}

    def exchange_code(self, code: str, redirect_uri: str | None, now: datetime) -> dict:
        """authorization_code grant: a single-use code younger than 5 minutes."""
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.used or now - grant.issued > CODE_LIFETIME:
                raise invalid_grant("code")
            if redirect_uri and redirect_uri != grant.redirect_uri:
                raise invalid_grant("redirect_uri")
            grant.used = True
        body = self._issue_access(grant.seller_id, now)
        body["refresh_token"] = self.issue_refresh_token(grant.seller_id)
        return body

    def refresh(self, refresh_token: str, now: datetime) -> dict:
        seller_id = self._refresh.get(refresh_token)
        if seller_id is None:
            raise invalid_grant("refresh_token")
        return self._issue_access(seller_id, now)

    def client_credentials(self, scope: str, now: datetime) -> dict:
        if not scope:
            raise GrantError("invalid_scope", "The request has an invalid parameter : scope")
        body = self._issue_access(None, now, scope)
        body["scope"] = scope
        return body

    def revoke(self, seller_id: str) -> int:
        """Revoke every grant of a seller; returns how many refresh tokens died."""
        with self._lock:
            dead_refresh = [t for t, s in self._refresh.items() if s == seller_id]
            for token in dead_refresh:
                del self._refresh[token]
            self._save()
            for token, access in list(self._access.items()):
                if access.seller_id == seller_id:
                    self._dead[token] = seller_id
                    del self._access[token]
        return len(dead_refresh)

    def lookup(self, token: str) -> tuple[AccessToken | None, str | None]:
        """The live token, or None with the seller id of a revoked one (for the counters)."""
        return self._access.get(token), self._dead.get(token)
