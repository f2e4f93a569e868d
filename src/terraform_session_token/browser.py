"""Opening a sign-in URL in the user's browser without putting it on any command line.

A browser started with the URL as an argument shows it to every local user (`ps`,
/proc/PID/cmdline) while it runs. The browser gets instead a one-time loopback address
(127.0.0.1, a random port and a random 256-bit path) that answers exactly one redirect to
the real URL and then stops listening.
"""

from __future__ import annotations

import hmac
import os
import secrets
import shlex
import socket
import subprocess
import threading
import time

from .errors import UsageError

WAIT = 60.0  # how long a browser may take to start and ask for the page
HEAD_LIMIT = 8192


class OneShotRedirect:
    """A loopback page that redirects once to `url`; any other request gets 404."""

    def __init__(self, url: str):
        self._url = url
        self._path = "/" + secrets.token_urlsafe(32)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.served = threading.Event()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}{self._path}"

    def serve(self, wait: float) -> None:
        """Answer requests until the redirect was served or `wait` seconds passed."""
        deadline = time.monotonic() + wait
        try:
            while not self.served.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._socket.settimeout(left)
                try:
                    conn, _ = self._socket.accept()
                except (socket.timeout, OSError):
                    return
                with conn:
                    self._answer(conn)
        finally:
            self._socket.close()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        head = b""
        try:
            while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < HEAD_LIMIT:
                chunk = conn.recv(1024)
                if not chunk:
                    break
                head += chunk
            parts = head.split(b"\r\n", 1)[0].split(b" ")
            wanted = len(parts) == 3 and parts[0] in (b"GET", b"HEAD")
            if wanted and hmac.compare_digest(parts[1], self._path.encode()):
                location = self._url.encode("ascii")
                conn.sendall(
                    b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nCache-Control: no-store\r\n"
                    b"Referrer-Policy: no-referrer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                self.served.set()
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass  # a client that went away: wait for the next one


def command_for(template: str, address: str) -> list[str]:
    """A --browser / console_browser template as argv, `{url}` replaced (appended when absent).
    Split as a shell would split words, but run without a shell: nothing in it is expanded."""
    try:
        argv = shlex.split(template)
    except ValueError as e:
        raise UsageError(f"the browser command {template!r} can't be split into words: {e}", "check its quotes")
    if not argv:
        raise UsageError("the browser command is empty", "e.g. --browser 'firefox -P prod {url}'")
    if not any("{url}" in arg for arg in argv):
        return argv + [address]
    return [arg.replace("{url}", address) for arg in argv]


def check_command(template: str) -> None:
    """Before any code is spent: the template splits into words and its program exists."""
    import shutil

    program = command_for(template, "")[0]
    if shutil.which(program) is None:
        raise UsageError(
            f"can't start the browser command {program!r}: not found, or not executable",
            "check --browser / console_browser, or use --print",
        )


def _start(argv: list[str]) -> None:
    try:
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the browser outlives this command, and its Ctrl-C
        )
    except OSError as e:
        raise UsageError(
            f"can't start the browser command {argv[0]!r}: {e.strerror or e}",
            "check --browser / console_browser, or use --print",
        )


def _default_browser(address: str) -> bool:
    """Python's webbrowser (which honours $BROWSER), its output kept off our stdout."""
    import webbrowser

    saved = os.dup(1)
    try:
        os.dup2(2, 1)  # a browser that prints must not print into a script's capture of our stdout
        return webbrowser.open(address, new=2)
    except webbrowser.Error:
        return False
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def open_url(url: str, template: str | None = None, wait: float = WAIT) -> None:
    """Open `url` in a browser (the template's command, else the default one) through a
    one-time loopback redirect; UsageError when no browser asks for it within `wait` seconds."""
    redirect = OneShotRedirect(url)
    server = threading.Thread(target=redirect.serve, args=(wait,), name="browser-redirect", daemon=True)
    server.start()
    if template:
        _start(command_for(template, redirect.address))
        started = True
    else:
        started = _default_browser(redirect.address)
    if not started and not redirect.served.is_set():
        redirect.served.set()  # stops serving at the next accept; nothing was handed out
        raise UsageError(
            "no web browser could be started",
            "set BROWSER, pass --browser 'COMMAND {url}', or --print the URL",
        )
    server.join(wait + 1)
    if not redirect.served.is_set():
        raise UsageError(
            f"the browser did not open the sign-in page within {wait:g} s (nothing was signed in)",
            "pass --browser 'COMMAND {url}' or use --print",
        )
