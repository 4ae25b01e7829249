"""The alerts history. (Contract placeholder: the pages helper builds it.)"""

from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404("not built yet")


alerts_history = alert_detail = _todo
