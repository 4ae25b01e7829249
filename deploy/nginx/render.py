#!/usr/bin/env python3
"""Fill deploy/nginx/cvrtracker.conf.template's {{NAME}} markers.

    python3 deploy/nginx/render.py SERVER_NAME=tracker.example.com \
        CERTIFICATE=/etc/letsencrypt/live/tracker.example.com/fullchain.pem \
        CERTIFICATE_KEY=/etc/letsencrypt/live/tracker.example.com/privkey.pem \
        > /etc/nginx/sites-enabled/cvrtracker.conf

Defaults: UPSTREAM=127.0.0.1:8000, LISTEN_ADDRESS=0.0.0.0, HTTP_PORT=80, HTTPS_PORT=443.
A marker left without a value is an error, never an empty string in the config.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("cvrtracker.conf.template")
DEFAULTS = {
    "UPSTREAM": "127.0.0.1:8000",
    "LISTEN_ADDRESS": "0.0.0.0",  # noqa: S104 - the edge listens on every interface
    "HTTP_PORT": "80",
    "HTTPS_PORT": "443",
}


def render(values: dict[str, str], template: str | None = None) -> str:
    values = {**DEFAULTS, **values}
    https_port = values["HTTPS_PORT"]
    values.setdefault("HTTPS_PORT_SUFFIX", "" if https_port == "443" else f":{https_port}")
    text = template if template is not None else TEMPLATE.read_text()
    missing = sorted(set(re.findall(r"{{(\w+)}}", text)) - values.keys())
    if missing:
        raise SystemExit(f"render.py: give a value for {', '.join(missing)}")
    return re.sub(r"{{(\w+)}}", lambda m: values[m.group(1)], text)


if __name__ == "__main__":
    pairs = dict(arg.split("=", 1) for arg in sys.argv[1:])
    sys.stdout.write(render(pairs))
