import logging

from django.conf import settings
from django.tasks import task_backends

log = logging.getLogger(__name__)


def task_queue_check() -> str:
    """'ok' if the configured task backend can take work, 'error' otherwise."""
    backend = task_backends["default"]
    try:
        if settings.REDIS_URL:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        else:
            from django_tasks_db.models import DBTaskResult

            DBTaskResult.objects.exists()
    except Exception:  # noqa: BLE001 - any failure means unhealthy; the log has the detail
        log.exception("healthz: task queue check failed (%s)", type(backend).__name__)
        return "error"
    return "ok"
