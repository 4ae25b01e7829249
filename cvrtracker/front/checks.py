"""Checks Django cannot know about: the deployment ones run by `manage.py check --deploy`."""

import os
import stat
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from cvrtracker.lib.clock import CHOICES, SIMULATOR
from cvrtracker.lib.crypto import decode_master_key
from cvrtracker.lib.hosts import host_is_loopback


@register(Tags.security, deploy=True)
def check_master_key(app_configs, **kwargs):
    """A production site must bring its master key: the generated demo key file
    would sit on the same disk (and in the same backups) as the data it protects."""
    if not settings.SECURE:
        return []
    if not settings.MASTER_KEY:
        return [
            Error(
                "MASTER_KEY is not set: Amazon data would be encrypted under a key file "
                "generated next to the database.",
                hint="Set MASTER_KEY (or MASTER_KEY_FILE) to a base64 256-bit key kept "
                "outside the database and its backups.",
                id="cvrtracker.E001",
            )
        ]
    try:
        decode_master_key(settings.MASTER_KEY)
    except ValueError as error:
        return [Error(f"MASTER_KEY is unusable: {error}", id="cvrtracker.E002")]
    if settings.MASTER_KEY_PREVIOUS:
        return [
            Warning(
                "MASTER_KEY_PREVIOUS is set: a master-key rotation is unfinished, and the "
                "old key still opens the data keys it wrapped.",
                hint="Run `manage.py rotate_master_key`, then remove MASTER_KEY_PREVIOUS.",
                id="cvrtracker.W007",
            )
        ]
    return []


@register()
def check_tracker_clock(app_configs, **kwargs):
    """TRACKER_CLOCK names a clock, and follows the simulator only when Amazon is the simulator."""
    if settings.TRACKER_CLOCK not in CHOICES:
        return [
            Error(
                f"TRACKER_CLOCK is {settings.TRACKER_CLOCK!r}.",
                hint=f"Set it to one of {', '.join(CHOICES)}.",
                id="cvrtracker.E003",
            )
        ]
    if settings.TRACKER_CLOCK == SIMULATOR and settings.AMAZON_PRODUCTION:
        return [
            Error(
                "TRACKER_CLOCK=simulator with AMAZON_PRODUCTION: the tracker would take its "
                "days from a simulator while talking to Amazon.",
                hint="Leave TRACKER_CLOCK unset (system) in production.",
                id="cvrtracker.E004",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_amazon_endpoints(app_configs, **kwargs):
    """A deployment talks to Amazon, with its own app's credentials: settings left at
    the simulator's defaults (AMAZON_PRODUCTION unset) or credentials left empty are
    errors, not a site that quietly connects sellers to nothing."""
    errors = []
    if settings.AMAZON_SIMULATOR_SETTINGS:
        errors.append(
            Error(
                f"{', '.join(settings.AMAZON_SIMULATOR_SETTINGS)} point at the Amazon "
                "simulator (or loopback), with the simulator's client secret.",
                hint="Set AMAZON_PRODUCTION=1, and LWA_CLIENT_ID, LWA_CLIENT_SECRET and "
                "AMAZON_APPLICATION_ID to your registered app's.",
                id="cvrtracker.E005",
            )
        )
    missing = [
        name
        for name in ("LWA_CLIENT_ID", "LWA_CLIENT_SECRET", "AMAZON_APPLICATION_ID")
        if not getattr(settings, name)
    ]
    if missing:
        errors.append(
            Error(
                f"{', '.join(missing)} not set: no seller could connect.",
                hint="Copy them from your app in Solution Provider Portal (also as *_FILE).",
                id="cvrtracker.E006",
            )
        )
    return errors


# Encryption at rest of what the application does not encrypt itself (issue 15):
# the operator provides encrypted volumes, TLS to remote services, secret stores and
# encrypted backups (README, "Running in production"). What can be seen from here:

TLS_SSLMODES = {"require", "verify-ca", "verify-full"}


@register(Tags.security, deploy=True)
def check_backup_key(app_configs, **kwargs):
    """Backups need a key of their own (manage.py backup)."""
    if not settings.SECURE or settings.BACKUP_KEY or settings.BACKUP_KEY_FILE:
        return []
    return [
        Warning(
            "Neither BACKUP_KEY nor BACKUP_KEY_FILE is set: `manage.py backup` cannot "
            "write an encrypted backup.",
            hint="Set BACKUP_KEY_FILE to a base64 256-bit key kept away from the backups "
            "(and from the master key).",
            id="cvrtracker.W008",
        )
    ]


@register(Tags.security, deploy=True)
def check_key_files(app_configs, **kwargs):
    """Key files readable by other accounts of the host are keys given away."""
    errors = []
    for name in ("MASTER_KEY_FILE", "BACKUP_KEY_FILE"):
        path = os.environ.get(name)
        if not path:
            continue
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError as error:
            errors.append(Error(f"{name} cannot be read: {error.strerror}", id="cvrtracker.E007"))
            continue
        if mode & 0o077:
            errors.append(
                Error(
                    f"{name} ({path}) is readable by other accounts (mode {mode:04o}).",
                    hint=f"chmod 600 {path}",
                    id="cvrtracker.E007",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_database_tls(app_configs, **kwargs):
    """Data leaving for a database on another host goes over TLS."""
    if not settings.SECURE:
        return []
    db = settings.DATABASES["default"]
    host = db.get("HOST", "")
    # No host or a path: a Unix socket, on this machine.
    if "postgresql" not in db["ENGINE"] or not host or host.startswith("/"):
        return []
    if host_is_loopback(host):
        return []
    if db.get("OPTIONS", {}).get("sslmode") in TLS_SSLMODES:
        return []
    return [
        Warning(
            f"The database on {db['HOST']} is reached without requiring TLS.",
            hint="Add ?sslmode=verify-full (or require) to DATABASE_URL.",
            id="cvrtracker.W009",
        )
    ]


@register(Tags.security, deploy=True)
def check_redis_tls(app_configs, **kwargs):
    """Task payloads and the derived-figure cache leave for Redis over TLS when remote."""
    if not settings.SECURE or not settings.REDIS_URL:
        return []
    url = urlsplit(settings.REDIS_URL)
    if url.scheme in ("rediss", "unix") or host_is_loopback(url.hostname):
        return []
    return [
        Warning(
            f"Redis on {url.hostname} is reached without TLS.",
            hint="Use a rediss:// URL in REDIS_URL.",
            id="cvrtracker.W010",
        )
    ]
