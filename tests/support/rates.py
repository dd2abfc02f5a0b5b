"""A local stand-in for CoinGecko's simple-price API on 127.0.0.1, answering in its shape."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeCoinGecko:
    """``prices`` is ``{coin id: {vs currency: price}}``; ``updated`` the ``last_updated_at`` of every coin
    (default: now). ``status`` other than 200 answers that status; ``requests`` records each query."""

    def __init__(self, prices=None):
        self.prices = prices or {}
        self.updated = None
        self.status = 200
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fake.requests.append((parts.path, query))
                if fake.status != 200 or parts.path != "/api/v3/simple/price":
                    self.send_error(fake.status if fake.status != 200 else 404)
                    return
                body = {}
                for coin in query.get("ids", "").split(","):
                    if coin not in fake.prices:
                        continue
                    entry = {
                        c: fake.prices[coin][c]
                        for c in query.get("vs_currencies", "").split(",")
                        if c in fake.prices[coin]
                    }
                    if query.get("include_last_updated_at") == "true":
                        entry["last_updated_at"] = int(
                            fake.updated if fake.updated is not None else time.time()
                        )
                    body[coin] = entry
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v3"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
