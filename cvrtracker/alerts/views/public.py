"""Unsubscribe and address confirmation, without logging in. (Contract placeholder: the
delivery helper builds it.)"""

from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404("not built yet")


unsubscribe = channel_confirm = _todo
