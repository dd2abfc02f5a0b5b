"""Real HTTP (and not-quite-HTTP) servers on 127.0.0.1 that webhooks are sent to, and what a receiver
does to check a delivery."""

import hashlib
import hmac
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver:
    """A shop's webhook URL: records each request; answers with the next planned reply (200 by default).

    A reply is ``("status", code)``, ``("status", code, {header: value})`` or ``("sleep", seconds)``."""

    def __init__(self):
        self.requests = []
        self.replies = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                kind, value, *extra = outer.replies.pop(0) if outer.replies else ("status", 200)
                if kind == "sleep":
                    time.sleep(value)
                    value = 200
                self.send_response(value)
                for name, header in (extra[0] if extra else {}).items():
                    self.send_header(name, header)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hooks/solana"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RawServer:
    """A TCP server on 127.0.0.1 that answers each connection with ``respond(connection)``: for endpoints
    that are not (well-behaved) HTTP servers. Counts the connections it accepted."""

    def __init__(self, respond):
        self.respond = respond
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(connection,), daemon=True).start()

    def handle(self, connection):
        with connection:
            try:
                self.respond(connection, self.stopped)
            except OSError:
                pass

    def stop(self):
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


def drip(connection, stopped):
    """Reads the request, then sends a valid status line and headers one byte every 0.5 s, forever."""
    connection.recv(65536)
    for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000:
        if stopped.wait(0.5):
            return
        connection.sendall(bytes([byte]))


def ftp_greeting(connection, stopped):
    """What an FTP server says first, whatever it is sent."""
    connection.sendall(b"220 ProFTPD Server ready.\r\n")
    connection.recv(65536)
    connection.sendall(b"500 Syntax error, command unrecognized.\r\n")


def redirect_to(location):
    def respond(connection, stopped):
        connection.recv(65536)
        connection.sendall(
            f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
        )

    return respond


def accept(payment, django_capture_on_commit_callbacks, signal=None):
    """Send a payment signal the way the app does (on commit); return the deliveries it made."""
    from solana_payments.models import Payment
    from solana_payments.signals import payment_accepted
    from solana_payments.webhooks.models import WebhookDelivery

    with django_capture_on_commit_callbacks(execute=True):
        (signal or payment_accepted).send(sender=Payment, payment=payment)
    return list(WebhookDelivery.objects.order_by("pk"))


def check_signature(secret, headers, body):
    """What a receiver does with the ``standardwebhooks`` library (the integration guide's example):
    returns the event, or raises ``WebhookVerificationError``."""
    return Webhook(secret).verify(body, headers)


def check_legacy_signature(legacy_secret, headers, body):
    """What a receiver set up before Standard Webhooks does, written out by hand (the old guide's code)."""
    parts = dict(p.split("=", 1) for p in headers["Solana-Payments-Signature"].split(","))
    expected = hmac.new(legacy_secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    assert abs(time.time() - int(parts["t"])) < 60
