"""Per-client throttling of the public endpoints, and "first caller in an interval" gates (both in the cache).

The client is ``REMOTE_ADDR``. Behind a reverse proxy, set it from the proxy's header in a middleware of
your own (Django trusts no ``X-Forwarded-For`` by itself, and neither does this).
"""

import time

from django.core.cache import cache

PREFIX = "solana_payments"


def client_allowed(request, scope, per_minute):
    """Count one request of this client in ``scope``; False once it made ``per_minute`` this minute.

    Returns ``(allowed, seconds until the window ends)``. ``per_minute`` 0 means no limit.
    """
    if not per_minute:
        return True, 0
    now = time.time()
    window = int(now // 60)
    key = f"{PREFIX}:throttle:{scope}:{request.META.get('REMOTE_ADDR', '')}:{window}"
    cache.add(key, 0, timeout=61)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this request as the first
        cache.set(key, 1, timeout=61)
        count = 1
    return count <= per_minute, int(60 - now % 60) + 1


def first_in_interval(name, seconds):
    """True for the first caller in each ``seconds`` for ``name`` (an atomic ``cache.add``)."""
    if seconds <= 0:
        return False
    return cache.add(f"{PREFIX}:pace:{name}", 1, timeout=seconds)


def end_interval(name):
    """Let the next caller of ``first_in_interval(name, ...)`` through at once."""
    cache.delete(f"{PREFIX}:pace:{name}")
