"""The parameters of a run (record ids, limit, sleep), cleaned in one place.

Commands, admin views, django-q2 jobs and ``run_operation()`` all clean what they are given here, so a
value refused in one is refused in all, with the same words, before any run is recorded. Each function
raises ``ValueError`` with a message naming the parameter; callers turn it into their own error
(``CommandError``, an admin message).
"""

import math
from decimal import Decimal

MAX_ID = 2**63 - 1  # the largest value of a 64-bit signed primary key
MAX_LIMIT = MAX_ID
MAX_SLEEP_SECONDS = 60.0  # a longer pause between round trips would outlast a run's heartbeat


def _shown(value):
    text = str(value)
    return repr(text if len(text) <= 24 else text[:24] + "…")


def _whole_number(value):
    """An int from an int or a string of ASCII digits; None for anything else (floats, '٣', '1e3')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        # str.isdigit() alone accepts other scripts' digits ("٣" is 3 to int()); ids are ASCII.
        if text.isascii() and text.isdigit() and len(text) <= 19:
            return int(text)
    return None


def clean_id(value):
    """One record id: an int, or a string of ASCII digits, from 1 to 2**63-1."""
    number = _whole_number(value)
    if number is None or not 1 <= number <= MAX_ID:
        raise ValueError(f"{_shown(value)} is not a record id (a whole number from 1 to {MAX_ID})")
    return number


def clean_ids(values):
    """Record ids, in order and without duplicates, or None for "no selection".

    ``values`` is an iterable of ids (ints or digit strings) or of comma-separated strings of them, such
    as a form's repeated fields or a command's ``--ids 1,2,3``; a single string is read the same way.
    An empty selection gives ``[]``: whether that is an error is the caller's call.
    """
    if values is None:
        return None
    if isinstance(values, str | int):
        values = [values]
    ids = []
    for value in values:
        if isinstance(value, str):
            ids.extend(clean_id(part) for part in value.split(",") if part.strip())
        else:
            ids.append(clean_id(value))
    return list(dict.fromkeys(ids))


def clean_limit(value, *, name="limit"):
    """At most this many records: None (no limit) or a whole number from 1 to 2**63-1."""
    if value is None:
        return None
    number = _whole_number(value)
    if number is None or not 1 <= number <= MAX_LIMIT:
        raise ValueError(f"{name} must be at least 1 and at most {MAX_LIMIT}, not {_shown(value)}")
    return number


def clean_sleep(value, *, name="sleep"):
    """Seconds to pause between chain round trips: a finite number from 0 to ``MAX_SLEEP_SECONDS``."""
    if value is None:
        return 0.0
    seconds = None
    number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if number or (isinstance(value, str) and value.strip().isascii()):
        try:
            seconds = float(value)
        except (ValueError, OverflowError):  # "abc", a signaling NaN, an int too large for a float
            seconds = None
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds <= MAX_SLEEP_SECONDS:
        raise ValueError(
            f"{name} must be a number of seconds from 0 to {MAX_SLEEP_SECONDS:g}, not {_shown(value)}"
        )
    return seconds

