"""Outgoing email: one place that renders templates and sends through MAILERS."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def email_send(*, to: str, template: str, context: dict) -> None:
    """Render templates/emails/<template>-{subject,body}.txt (and .html if present) and send."""
    ctx = {"site_name": settings.SITE_NAME, "site_root": settings.SITE_ROOT, **context}
    subject = render_to_string(f"emails/{template}-subject.txt", ctx).strip()
    body = render_to_string(f"emails/{template}-body.txt", ctx)
    message = EmailMultiAlternatives(subject=subject, body=body, to=[to])
    message.send()
