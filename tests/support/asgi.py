"""Requests to the project's ASGI application in this process, as an ASGI server would make them.

Each request comes from the client address it is given (``REMOTE_ADDR``: the throttle's client), so a
test can be a hundred customers on 127.0.0.0/8 at once. No server, no socket: the application is called
with the ASGI scope, and the answer is collected from its messages.
"""

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body)


def application():
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


async def get(app, path, *, client="127.0.0.1", query=None):
    """``GET path`` from ``client``; returns the ``Answer`` once the application has sent it all."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query or {}).encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept", b"application/json")],
        "client": (client, 50_000),
        "server": ("testserver", 80),
    }
    asked = False
    forever = asyncio.Event()

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await forever.wait()  # the client never goes away while it waits

    messages = []

    async def send(message):
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(start["status"], body)
