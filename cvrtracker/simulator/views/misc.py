"""Product images and the JSON answers for unknown paths and crashes."""

from __future__ import annotations

import zlib

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from .common import error_body, json_response


@require_GET
def image(request: HttpRequest, image_id: str) -> HttpResponse:
    """A small solid-colour PNG per image id, so dashboards show something stable."""
    shade = zlib.crc32(image_id.encode())
    rgb = bytes(((shade >> 16) & 0xFF, (shade >> 8) & 0xFF, shade & 0xFF))
    width = height = 64
    raw = b"".join(b"\x00" + rgb * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_response(error_body("NotFound", "Resource not found.", ""), 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return json_response(
        error_body("InternalFailure", "We encountered an internal error.", ""), 500
    )
