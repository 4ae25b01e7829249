"""The retention runner: one daily job applies every retention rule.

Each rule is a function `rule(*, now) -> int` (rows deleted) that deletes what its
period has ended and nothing younger. Its period comes from settings, the same
settings the privacy page states (privacy/policy.py). The scheduler runs
`retention_run()` every RETENTION_EVERY_SECONDS (a day); `manage.py retention_run`
runs it by hand. Every rule is idempotent, so two schedulers may both run it.

A new kind of personal data needs a rule here (and a line on the privacy page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionRule:
    name: str
    # "module:function", imported when the rule runs (the rules live with their data).
    function: str
    # What the rule deletes, in words (manage.py retention_run prints it).
    description: str

    def load(self) -> Callable[..., int]:
        module, _, name = self.function.partition(":")
        return getattr(import_module(module), name)


RULES: tuple[RetentionRule, ...] = (
    RetentionRule(
        "account_deletion",
        "cvrtracker.privacy.deletion:deletion_purge_due",
        "deleted accounts and teams, ACCOUNT_DELETION_GRACE_DAYS after deletion (and the "
        "Stripe cancellation of a deleted team, retried until it succeeds)",
    ),
    RetentionRule(
        "audit",
        "cvrtracker.privacy.retention:audit_purge_expired",
        "audit entries older than AUDIT_RETENTION_DAYS (their IP addresses and browsers with them)",
    ),
    RetentionRule(
        "user_sessions",
        "cvrtracker.privacy.retention:user_sessions_purge_expired",
        "session records (IP address, browser) last seen over USAGE_RETENTION_DAYS ago",
    ),
    RetentionRule(
        "login_records",
        "cvrtracker.privacy.retention:login_records_purge_expired",
        "log-in attempts and logs (django-axes) older than USAGE_RETENTION_DAYS",
    ),
    RetentionRule(
        "django_sessions",
        "cvrtracker.privacy.retention:django_sessions_purge_expired",
        "expired Django sessions",
    ),
    RetentionRule(
        "usage",
        "cvrtracker.privacy.usage:usage_purge_expired",
        "usage events (IP address, browser, page) older than USAGE_RETENTION_DAYS",
    ),
    RetentionRule(
        "requests",
        "cvrtracker.privacy.requests:requests_purge_expired",
        "rights requests answered over RIGHTS_REQUEST_RETENTION_DAYS ago and support "
        "requests answered over SUPPORT_RETENTION_DAYS ago",
    ),
    RetentionRule(
        "data_exports",
        "cvrtracker.privacy.export:data_export_purge_expired",
        "data exports EXPORT_LINK_DAYS after they were ready (file, key, row); failed builds",
    ),
    RetentionRule(
        "amazon_data",
        "cvrtracker.privacy.purge:connection_purge_due",
        "Amazon data of disconnected or revoked seller accounts the purge job has not "
        "deleted within the hour (never kept past AMAZON_DATA_PURGE_DAYS)",
    ),
)


def retention_run(*, now: datetime | None = None) -> dict[str, int]:
    """Apply every rule; returns rows deleted per rule. A failing rule is logged and
    the others still run (then the failure is raised, so the job shows as failed)."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    failed: list[str] = []
    for rule in RULES:
        try:
            done[rule.name] = int(rule.load()(now=now) or 0)
        except Exception:
            logger.exception("Retention rule %s failed", rule.name)
            failed.append(rule.name)
    deleted = {name: count for name, count in done.items() if count}
    logger.info("Retention run: %s", deleted or "nothing was due")
    if failed:
        raise RuntimeError(f"retention rules failed: {', '.join(failed)}")
    return done


def cutoff(now: datetime, days: int) -> datetime:
    """The instant before which a `days`-long period has ended."""
    return now - timedelta(days=days)


# Rules about data the privacy app does not own ------------------------------------


def audit_purge_expired(*, now: datetime) -> int:
    from cvrtracker.audit.services import audit_prune

    return audit_prune(before=cutoff(now, settings.AUDIT_RETENTION_DAYS))


def user_sessions_purge_expired(*, now: datetime) -> int:
    from cvrtracker.accounts.models import UserSession

    old = UserSession.objects.filter(last_seen_at__lt=cutoff(now, settings.USAGE_RETENTION_DAYS))
    return old.delete()[0]


def login_records_purge_expired(*, now: datetime) -> int:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    before = cutoff(now, settings.USAGE_RETENTION_DAYS)
    deleted = 0
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        deleted += model.objects.filter(attempt_time__lt=before).delete()[0]
    return deleted


def django_sessions_purge_expired(*, now: datetime) -> int:
    from django.contrib.sessions.models import Session

    return Session.objects.filter(expire_date__lt=now).delete()[0]
