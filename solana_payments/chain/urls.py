"""RPC URLs fit for logs and messages: providers put API keys in the user info, the path or the query."""

import re
from urllib.parse import urlsplit, urlunsplit

_SECRET_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{16,}")
_URL = re.compile(r"https?://\S+")


def _looks_secret(segment: str) -> bool:
    """A path segment that is probably an API key (QuickNode, Alchemy, Ankr... put them in the path)."""
    if not _SECRET_SEGMENT.fullmatch(segment):
        return False
    return len(segment) >= 24 or (any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment))


def redact_url(url: str) -> str:
    """``url`` fit for logs and messages: no user:password, no query string, no key-like path segment."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid RPC URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    path = "/".join("***" if _looks_secret(segment) else segment for segment in parts.path.split("/"))
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def redact_text(text, url: str) -> str:
    """``text`` (an error message) with ``url``, and anything else URL-like, redacted."""
    return redact_urls(str(text).replace(url, redact_url(url)))


def redact_urls(text) -> str:
    """``text`` with anything URL-like redacted: it could carry userinfo, a key-like path or a query string."""
    return _URL.sub(lambda m: redact_url(m.group(0).strip("'\"")), str(text))


def is_http_url(url) -> bool:
    return bool(url) and urlsplit(str(url)).scheme in ("http", "https")
