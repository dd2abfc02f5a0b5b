"""One attempt of one webhook: a POST over httpx2 under a single deadline.

``WEBHOOK_TIMEOUT`` bounds the whole attempt (resolving the host, connecting, sending, the response's headers
and the part of its body that is read), not each socket read: an endpoint that drips its answer a byte at a
time is cut off when the deadline passes, and the worker is free again. At most ``RESPONSE_BYTES_READ`` of
the body are read, and only to let the server finish; the body is never kept, logged or shown. Redirects
are not followed (the signature is for this URL), no proxy from the environment is used, and only http and
https URLs are sent to.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx2

from ..chain.transport import parse_retry_after
from ..conf import app_settings
from .addresses import REFUSED_PRIVATE, SCHEMES, PrivateAddress, default_port, resolve, resolve_public

RESPONSE_BYTES_READ = 64 * 1024


@dataclass
class Outcome:
    """What an attempt came to: the status code (None without an answer), how long it took, the error
    (None for a 2xx) and the seconds a 429 or 5xx asked to wait (``Retry-After``)."""

    status_code: int | None
    elapsed_ms: int
    error: str | None
    retry_after: float | None = None


def send(url, body, headers):
    """POST ``body`` (bytes) to ``url`` with ``headers``; returns an ``Outcome``, never raises for what the
    endpoint does."""
    timeout = float(app_settings.WEBHOOK_TIMEOUT)
    started = time.monotonic()
    status_code, error, retry_after = None, None, None
    try:
        status_code, retry_after = asyncio.run(_post_within(timeout, url, body, headers))
    except BadURL as exc:
        error = f"bad URL: {exc}"
    except PrivateAddress:
        error = REFUSED_PRIVATE
    except TimeoutError:
        error = f"no response within {app_settings.WEBHOOK_TIMEOUT} s"
    except OSError as exc:  # the name does not resolve
        error = f"cannot connect: {exc}"
    except httpx2.ConnectError as exc:
        error = f"cannot connect: {exc}"
    except httpx2.TimeoutException:
        error = f"no response within {app_settings.WEBHOOK_TIMEOUT} s"
    except httpx2.HTTPError as exc:  # a reset connection, a garbled answer, something that is not HTTP
        error = f"{type(exc).__name__}: {exc}"
    elapsed_ms = round((time.monotonic() - started) * 1000)
    if error is None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
        if 300 <= status_code < 400:
            error += " (redirects are not followed)"
    return Outcome(status_code, elapsed_ms, error, retry_after)


class BadURL(Exception):
    pass


async def _post_within(timeout, url, body, headers):
    async with asyncio.timeout(timeout):
        return await _post(timeout, url, body, headers)


async def _post(timeout, url, body, headers):
    request_url, extensions, headers = await _target(url, headers)
    async with httpx2.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False, http2=False
    ) as client:
        request = client.build_request(
            "POST", request_url, content=body, headers=headers, extensions=extensions
        )
        response = await client.send(request, stream=True)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= RESPONSE_BYTES_READ:
                    break
        finally:
            await response.aclose()
    retry_after = None
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return response.status_code, retry_after


async def _target(url, headers):
    """Where to connect. The host is resolved here, within the attempt's deadline, its addresses checked
    (unless ``WEBHOOK_ALLOW_PRIVATE_NETWORKS``), and the request goes to the first of them (``Host`` and TLS
    SNI keep the name), so a second DNS answer cannot send it elsewhere."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadURL(exc) from None
    if parts.scheme not in SCHEMES:
        raise BadURL(f"only {' and '.join(SCHEMES)} URLs are sent to, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise BadURL("no host")
    port = port or default_port(parts.scheme)
    lookup = resolve if app_settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS else resolve_public
    (address, *_others) = await _in_own_thread(lookup, parts.hostname, port)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    if "@" in parts.netloc:  # credentials in the URL still go to the server
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    host = parts.hostname if not parts.port else f"{parts.hostname}:{parts.port}"
    if ":" in parts.hostname:  # an IPv6 literal in the URL
        host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return pinned, extensions, {**headers, "Host": host}


async def _in_own_thread(function, *args):
    """Run a blocking call (a DNS lookup) in a thread of its own: when the deadline passes, the attempt
    ends without waiting for it, where ``asyncio.run`` would wait for the loop's default executor."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="solana-payments-webhook-dns")
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)
    finally:
        executor.shutdown(wait=False)
