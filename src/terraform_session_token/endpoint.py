"""exec's credential endpoint: the session served to the child in the container-credentials format.

botocore, aws-sdk-go v1 and v2 (and so every Terraform) read AWS_CONTAINER_CREDENTIALS_FULL_URI
plus AWS_CONTAINER_AUTHORIZATION_TOKEN, fetch credentials from there and come back when the
Expiration they were told has passed. The endpoint listens on 127.0.0.1 only, on a random
port, and answers only requests carrying this run's random token. Every answer is the
session with more than the refresh margin left, refreshed (without a code while an MFA
session lasts) when it has less, and reported as expiring that margin early.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .errors import ToolError
from .sessions import SERVE_AHEAD, Session

PATH = "/credentials"
MAX_CONNECTIONS = 256  # open at once, at most; more are closed at once


def connection_cap() -> int:
    """How many connections may be open at once: at most a quarter of the files this process may
    open, so that it never runs out of them (refreshes, the child's pipes and the AWS calls need some)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 64
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(8, min(MAX_CONNECTIONS, soft // 4))


REQUEST_TIMEOUT = 3.0  # seconds for a client to send its whole request: half-requests end there


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer bounded for a hostile neighbour: a cap on open connections that keeps
    room for the child (when full, the oldest connection still sending its request is dropped:
    a client like the SDK sends its whole request at once), a deadline per request, no busy loop
    when the process is out of files, no tracebacks."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cap = connection_cap()
        self._guard = threading.Lock()
        self._count = 0
        self._reading: dict = {}  # connections that have not sent their whole request yet -> arrival

    def get_request(self):
        try:
            return super().get_request()
        except OSError:
            time.sleep(0.05)  # EMFILE and the like: the listening socket stays readable; don't spin
            raise

    def process_request(self, request, client_address):
        with self._guard:
            if self._count >= self._cap:
                oldest = min(self._reading, key=self._reading.get, default=None)
                if oldest is None:
                    self.shutdown_request(request)  # all busy with whole requests: this one waits its turn
                    return
                del self._reading[oldest]
                try:
                    oldest.shutdown(socket.SHUT_RDWR)  # its thread ends and gives the slot back
                except OSError:
                    pass
            self._count += 1
            self._reading[request] = time.monotonic()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def request_read(self, request) -> None:
        with self._guard:
            self._reading.pop(request, None)

    def _release(self, request) -> None:
        with self._guard:
            self._count -= 1
            self._reading.pop(request, None)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def handle_error(self, request, client_address) -> None:
        pass  # a reset or a timed-out client: nothing for the child's terminal


class CredentialServer:
    """A loopback HTTP server handing out `fetch()`'s session to holders of the token."""

    def __init__(self, fetch: Callable[[], Session], early_by: float, on_error: Callable[[str], None] | None = None):
        self.token = secrets.token_urlsafe(32)
        self._fetch = fetch
        self._early_by = early_by
        self._on_error = on_error or (lambda line: print(line, file=sys.stderr, flush=True))
        self._lock = threading.Lock()
        self._current: Session | None = None
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{PATH}"

    def environment(self) -> dict[str, str]:
        return {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": self.token}

    def start(self, first: Session | None = None) -> CredentialServer:
        self._current = first
        self._thread = threading.Thread(target=self._server.serve_forever, name="credential-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def session(self) -> Session:
        """The session to hand out now: the one in memory while fresh, else fetched anew."""
        with self._lock:
            current = self._current
            if current is None or not current.is_fresh(self._early_by + SERVE_AHEAD):
                current = self._current = self._fetch()
            return current

    def authorized(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self.token.encode())

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = REQUEST_TIMEOUT  # the socket's: a request that trickles or stalls ends here

            def parse_request(self) -> bool:
                ok = super().parse_request()
                server._server.request_read(self.connection)  # a whole request: not one to drop
                return ok

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if not server.authorized(self.headers.get("Authorization")):
                    self._send(401, {"Code": "Unauthorized", "Message": "a valid authorization token is required"})
                    return
                if self.path.split("?")[0] != PATH:
                    self._send(404, {"Code": "NotFound", "Message": "no such path"})
                    return
                try:
                    session = server.session()
                except ToolError as error:
                    server._on_error(f"terraform-session-token: error: {error.line()}")
                    self._send(500, {"Code": "RefreshFailed", "Message": error.line()})
                    return
                except Exception as error:  # a bug: the child gets an error, the user one line
                    server._on_error(f"terraform-session-token: error: unexpected {type(error).__name__}")
                    self._send(500, {"Code": "RefreshFailed", "Message": type(error).__name__})
                    return
                self._send(200, None, session.container_json(server._early_by).encode())

            def _send(self, status: int, document: dict | None, body: bytes | None = None) -> None:
                body = body if body is not None else json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Connection", "close")  # one request per connection, nothing smuggled after it
                self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass  # the child's terminal is not ours to write on

        return Handler
