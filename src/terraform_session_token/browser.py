"""Opening a sign-in URL in the user's browser without letting another user of the machine have it.

A browser started with the URL as an argument shows it to every local user (`ps`,
/proc/PID/cmdline) while it runs. The browser gets instead a one-time loopback address
(127.0.0.1, a random port and a random 256-bit path) that answers exactly one redirect to the
real URL and then stops listening.

That address is on the browser's command line in turn, so on its own it would be the credential.
Where the system shows command lines to every user (Linux), only a connection whose socket is the
user's own (its owner as the kernel lists it in /proc/net/tcp) gets the redirect: another user's
gets 403, is reported, and the wait goes on for the browser. Where command lines are shown only
to their user and administrators (macOS, Windows), no other user learns the address. Where
neither holds, no browser is started (--print remains).

A browser of the user's own, whatever its sandbox (snap, flatpak: the same uid, the same network),
is served. A file:// page holding the URL was not chosen: sandboxed browsers can't read a private
file (snap's Firefox reads no hidden directory and has a /tmp of its own; flatpak's only what a
portal hands it), and browser extensions can't open file:// pages (Firefox containers).
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
WAIT_VAR = "TERRAFORM_SESSION_TOKEN_BROWSER_WAIT"
HEAD_LIMIT = 8192
READ_TIMEOUT = 5.0  # for a connection of the user's own to send its request
MAX_READERS = 16  # connections of the user's own being read at once (a browser opens a few)


def browser_wait() -> float:
    """How long `console` waits for the browser: TERRAFORM_SESSION_TOKEN_BROWSER_WAIT, else 60 s."""
    try:
        value = float(os.environ.get(WAIT_VAR) or WAIT)
    except ValueError:
        return WAIT
    return min(max(value, 1.0), 3600.0) if value == value else WAIT


class OneShotRedirect:
    """A loopback page that redirects once to `url`, only for the right path and, with
    `own_uid`, only to a connection of that user; any other request gets 404 or 403."""

    def __init__(self, url: str, own_uid: int | None = None):
        self._url = url
        self._path = "/" + secrets.token_urlsafe(32)
        self._own_uid = own_uid
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._guard = threading.Lock()
        self._readers = threading.BoundedSemaphore(MAX_READERS)
        self.served = threading.Event()
        self.refused: list[str] = []  # who else asked for it ("uid 65534"), in order

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}{self._path}"

    def serve(self, wait: float) -> None:
        """Answer connections until the redirect was served or `wait` seconds passed."""
        deadline = time.monotonic() + wait
        try:
            while not self.served.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._socket.settimeout(min(left, 0.5))  # also looks at `served` twice a second
                try:
                    conn, peer = self._socket.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not self._is_own(conn, peer):
                    continue
                if not self._readers.acquire(blocking=False):
                    conn.close()  # a flood of idle connections: the browser's come again
                    continue
                threading.Thread(target=self._answer, args=(conn,), name="browser-redirect-answer", daemon=True).start()
        finally:
            self._socket.close()

    def _is_own(self, conn: socket.socket, peer) -> bool:
        """With `own_uid`: whether the connection's socket is the user's; another's gets 403 at once
        (nothing of it is read) and is remembered."""
        if self._own_uid is None:
            return True
        from . import system

        uid = system.loopback_peer_uid((peer[0], peer[1]), ("127.0.0.1", self.port))
        if uid == self._own_uid:
            return True
        self.refused.append(f"uid {uid}" if uid is not None else "a process the system could not name")
        with conn:
            try:
                conn.settimeout(1)
                conn.sendall(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 46\r\n"
                    b"Connection: close\r\n\r\nThis address serves only the user who made it.\n"
                )
            except OSError:
                pass
        return False

    def _answer(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(READ_TIMEOUT)
                head = b""
                try:
                    while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < HEAD_LIMIT:
                        chunk = conn.recv(1024)
                        if not chunk:
                            break
                        head += chunk
                    parts = head.split(b"\r\n", 1)[0].split(b" ")
                    wanted = len(parts) == 3 and parts[0] in (b"GET", b"HEAD")
                    first = False
                    if wanted and hmac.compare_digest(parts[1], self._path.encode()):
                        with self._guard:
                            first = not self.served.is_set()
                            self.served.set()
                    if first:
                        location = self._url.encode("ascii")
                        conn.sendall(
                            b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nCache-Control: no-store\r\n"
                            b"Referrer-Policy: no-referrer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        )
                    else:
                        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass  # a client that went away: wait for the next one
        finally:
            self._readers.release()


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


def check_can_open() -> None:
    """Before any code is spent: on this system, a browser can be handed the address safely."""
    redirect = _redirect_for("")
    redirect._socket.close()


def _redirect_for(url: str) -> OneShotRedirect:
    """The one-time address, guarded by the user's uid where the system shows command lines to all."""
    from . import system

    if system.COMMAND_LINES_PRIVATE:
        return OneShotRedirect(url)
    own = os.geteuid()
    redirect = OneShotRedirect(url, own_uid=own)
    listening = ("127.0.0.1", redirect.port)
    if system.loopback_peer_uid(listening, listening) != own:
        redirect._socket.close()
        raise UsageError(
            "no browser was started: this system shows every command line to every user and can't tell "
            "whose connection asks for the sign-in page (no /proc/net/tcp)",
            "use --print, and open the URL in your browser yourself",
        )
    return redirect


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


def _others(refused: list[str]) -> str:
    """ "a process of another user (uid 65534) asked for it and was refused" """
    who = ", ".join(dict.fromkeys(refused))
    return f"a process of another user ({who}) asked for it and was refused"


def open_url(url: str, template: str | None = None, wait: float | None = None) -> list[str]:
    """Open `url` in a browser (the template's command, else the default one) through a one-time
    loopback redirect, and return once the browser has been redirected: who else asked for the
    address and was refused ("uid 65534"). UsageError when no browser of the user's asked for it
    within `wait` seconds: nothing was signed in then."""
    wait = browser_wait() if wait is None else wait
    redirect = _redirect_for(url)
    server = threading.Thread(target=redirect.serve, args=(wait,), name="browser-redirect", daemon=True)
    server.start()
    if template:
        _start(command_for(template, redirect.address))
        started = True
    else:
        started = _default_browser(redirect.address)
    if not started and not redirect.served.is_set():
        redirect.served.set()  # stops serving within half a second; nothing was handed out
        raise UsageError(
            "no web browser could be started",
            "set BROWSER, pass --browser 'COMMAND {url}', or --print the URL",
        )
    server.join(wait + 1)
    if not redirect.served.is_set():
        said = f"; {_others(redirect.refused)}" if redirect.refused else ""
        raise UsageError(
            f"the browser did not ask for the sign-in page within {wait:g} s, so nothing was signed in{said}",
            "check --browser / console_browser, or use --print",
        )
    return list(dict.fromkeys(redirect.refused))
