"""Settings → Alerts: rules and channels. (Contract placeholder: the pages helper builds it.)"""

from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404("not built yet")


alerts_settings = rule_new = rule_edit = rule_switch = rule_delete = _todo
channel_new = channel_edit = channel_test = channel_resume = channel_delete = _todo
