"""Text placeholders for images, files and videos, which Docent messages cannot hold."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

_DATA_URI = re.compile(r"data:(?P<media>[^;,]*)(?P<params>(;[^;,]*)*),(?P<data>.*)\Z", re.DOTALL)
_SHOWN_URL_LENGTH = 200


def placeholder(
    kind: str, *, url: str | None = None, data: str | None = None, name: str = ""
) -> str:
    """``[image: image/png, 48213 bytes, sha256 3f2a9c1b7d4e]``, or the URL or file name shown.

    ``url`` may be a ``data:`` URI; ``data`` is base64 without a URI around it.
    """
    facts: list[str] = []
    if url is not None and (match := _DATA_URI.match(url)):
        base64_encoded = ";base64" in match["params"]
        facts.extend(_describe_bytes(match["media"] or "text/plain", match["data"], base64_encoded))
    elif data is not None:
        facts.extend(_describe_bytes("application/octet-stream", data, True))
    elif url:
        shown = url if len(url) <= _SHOWN_URL_LENGTH else url[:_SHOWN_URL_LENGTH] + "…"
        facts.append(shown)
    if name:
        facts.insert(0, name)
    return f"[{kind}: {', '.join(facts)}]" if facts else f"[{kind}]"


def _describe_bytes(media_type: str, payload: str, base64_encoded: bool) -> list[str]:
    raw: bytes
    if base64_encoded:
        try:
            raw = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            raw = payload.encode("utf-8", "surrogatepass")
    else:
        raw = payload.encode("utf-8", "surrogatepass")
    return [media_type, f"{len(raw)} bytes", f"sha256 {hashlib.sha256(raw).hexdigest()[:12]}"]
