"""What every supported database can store, checked before a customer's text or metadata is saved.

SQLite takes almost anything, PostgreSQL does not: a NUL character (``"\\x00"``, or ``"\\u0000"`` in JSON)
fits in neither its text nor its ``jsonb``, a lone surrogate is not UTF-8 for either database, a string
longer than its column is an error there (SQLite just keeps it), and NaN or infinity is no JSON number.
Each check raises ``ValueError`` with a reason a client can act on, so bad input is a 400, never a 500.
"""

import math


def check_text(name, value, max_length=None):
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string.")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{name} must be a string of at most {max_length} characters.")
    _check_characters(name, value)


def check_json(name, value):
    """``value`` as a JSON field stores it: objects with string keys, arrays, strings, finite numbers,
    booleans and null, with no string a database refuses."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise ValueError(f"{name} keys must be strings.")
                _check_characters(name, key)
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            _check_characters(name, item)
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{name} may hold finite numbers only, not {item}.")
        else:
            raise ValueError(f"{name} may hold JSON values only, not {type(item).__name__}.")


def _check_characters(name, value):
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be valid Unicode text (it has a lone surrogate).") from None
