from django.conf import settings


def branding(request):
    return {
        "site_name": settings.SITE_NAME,
        "privacy_policy_version": settings.PRIVACY_POLICY_VERSION,
    }
