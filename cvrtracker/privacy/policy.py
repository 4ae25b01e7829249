"""The privacy policy's figures, from the settings the code enforces.

templates/front/privacy.html renders these, never a number of its own, so that
the page cannot promise a period the retention rules (retention.py) do not keep.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class PolicyTerms:
    deletion_grace_days: int
    amazon_purge_days: int
    usage_retention_days: int
    usage_retention_months: int
    audit_retention_days: int
    export_link_days: int
    rights_due_days: int
    rights_retention_days: int
    rights_retention_months: int
    support_retention_days: int
    minimum_age: int
    support_email: str
    analytics: bool


def _months(days: int) -> int:
    """Whole months in `days` (365 → 12), as the policy states them."""
    return max(1, round(days * 12 / 365))


def policy_terms() -> PolicyTerms:
    return PolicyTerms(
        deletion_grace_days=settings.ACCOUNT_DELETION_GRACE_DAYS,
        amazon_purge_days=settings.AMAZON_DATA_PURGE_DAYS,
        usage_retention_days=settings.USAGE_RETENTION_DAYS,
        usage_retention_months=_months(settings.USAGE_RETENTION_DAYS),
        audit_retention_days=settings.AUDIT_RETENTION_DAYS,
        export_link_days=settings.EXPORT_LINK_DAYS,
        rights_due_days=settings.RIGHTS_REQUEST_DUE_DAYS,
        rights_retention_days=settings.RIGHTS_REQUEST_RETENTION_DAYS,
        rights_retention_months=_months(settings.RIGHTS_REQUEST_RETENTION_DAYS),
        support_retention_days=settings.SUPPORT_RETENTION_DAYS,
        minimum_age=settings.MINIMUM_AGE,
        support_email=settings.SUPPORT_EMAIL,
        analytics=bool(settings.ANALYTICS_SCRIPT_URL),
    )
