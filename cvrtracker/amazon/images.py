"""Product images as our pages load them.

Amazon's images are https links on its media hosts and load as they are (the CSP's
img-src allows https:). The demo simulator's live on its own origin under its own CA,
which browsers do not trust: there, and only when the simulator is the SP-API endpoint
(settings.AMAZON_SIMULATOR_ORIGIN, always empty with AMAZON_PRODUCTION), the page
loads them through `amazon:simulator_image`, which relays them with the client that
trusts that CA. Every page that shows a product image (the product page, the change
history) goes through `image_src`.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.urls import reverse

# The simulator's image ids (simulator/urls.py: images/I/<id>.jpg).
SIMULATOR_IMAGE_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def simulator_origin() -> str:
    """The demo simulator's origin whose images are relayed; "" in production."""
    return "" if settings.AMAZON_PRODUCTION else settings.AMAZON_SIMULATOR_ORIGIN


def image_src(link: str) -> str:
    """Where a page loads an image from: Amazon's https link as it is, a demo simulator
    image through the relay, else "" (not loadable: the page shows the link as text)."""
    origin = simulator_origin()
    prefix = f"{origin}/images/I/"
    if origin and link.startswith(prefix) and link.endswith(".jpg"):
        image_id = link[len(prefix) : -len(".jpg")]
        if SIMULATOR_IMAGE_ID.match(image_id):
            return reverse("amazon:simulator_image", args=[image_id])
    return link if link.startswith("https://") else ""


def simulator_image_fetch(*, image_id: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of one of the demo simulator's images; None when there is
    no simulator, no such image, or it did not answer with an image."""
    origin = simulator_origin()
    if not origin or not SIMULATOR_IMAGE_ID.match(image_id):
        return None
    # The outbound HTTP stack (httpx, the SP-API client's retry and rate limiting) is
    # loaded only here, by the demo's image relay: pages and downloads never call out,
    # and a web worker should not carry it for them (~8 MB).
    import httpx

    from cvrtracker.amazon.client import http as amazon_http

    try:
        # nosemgrep: cvrt-spapi-call-outside-client (an image host, not SP-API)
        answer = amazon_http().get(f"{origin}/images/I/{image_id}.jpg")
    except httpx.HTTPError:
        return None
    kind = answer.headers.get("content-type", "")
    if answer.status_code != 200 or not kind.startswith("image/"):
        return None
    return answer.content, kind
