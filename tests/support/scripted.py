"""A scripted JSON-RPC server and signed transactions, for the chain client's tests."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from solana_payments.chain.client import ChainClient

ACCOUNT = {
    "data": ["", "base64"],
    "executable": False,
    "lamports": 7,
    "owner": "11111111111111111111111111111111",
    "rentEpoch": 0,
    "space": 0,
}


class ScriptedServer:
    """An HTTP server answering JSON-RPC posts with ``handler(request) -> (status, headers, body)``.

    ``body`` may be a dict/list (sent as JSON), bytes/str (sent as is), or ``"DROP"`` to close the
    connection without answering. ``requests`` records every decoded request body.
    """

    def __init__(self, handler):
        self.handler = handler
        self.requests = []
        self.times = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                server.requests.append(body)
                server.times.append(time.monotonic())
                status, headers, payload = server.handler(body)
                if payload == "DROP":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(payload, dict | list):
                    payload = json.dumps(payload)
                if isinstance(payload, str):
                    payload = payload.encode()
                truncate = headers.pop("X-Truncate", None)
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if truncate:
                    self.wfile.write(payload[: len(payload) // 2])
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def methods(self):
        names = []
        for body in self.requests:
            items = body if isinstance(body, list) else [body]
            names.extend(item["method"] for item in items)
        return names

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def ok(request, result):
    return 200, {}, {"jsonrpc": "2.0", "id": request["id"], "result": result}


def rpc_error(request, code, message, data=None):
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return 200, {}, {"jsonrpc": "2.0", "id": request["id"], "error": error}


def accounts_result(request):
    keys = request["params"][0]
    return {"context": {"slot": 1}, "value": [ACCOUNT for _ in keys]}


def client_for(server_or_url, **options):
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    options.setdefault("max_retry_seconds", 5)
    options.setdefault("timeout", 5)
    return ChainClient(url, **options)


def signed_tx():
    payer = Keypair()
    message = MessageV0.try_compile(
        payer.pubkey(),
        [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1))],
        [],
        Hash.new_unique(),
    )
    return VersionedTransaction(message, [payer])


def closed_port_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://user:secret@127.0.0.1:{port}/v2/abcdef0123456789abcdef?api-key=topsecret"
