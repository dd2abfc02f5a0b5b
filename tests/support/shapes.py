"""The shape of JSON answers: every key path, to compare the local chain with real nodes."""

from __future__ import annotations


def key_paths(value, prefix: str = "") -> set[str]:
    """Every key path of a JSON value; list members are merged under `[]`."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}"
            paths.add(path)
            paths |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, prefix + "[]")
    return paths
