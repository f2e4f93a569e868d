"""A private X display for one test, and the dialog driving that waits on what its X server says.

Each test gets its own Xvfb: `-noreset`, since a plain Xvfb resets when its last client leaves and
refuses or drops connections while it does (a dialog starting just then fails); `-displayfd`, which
names a free display once the server accepts connections; no TCP; stopped by its PID. Every wait
is for an answer of the X server (a window mapped, the focus on it, the keys handled, the window
gone); deadlines only turn a hang into a failure, they never pace a step.
"""

from __future__ import annotations

import os
import select
import subprocess
import time


class Display:
    """One Xvfb of this test; `name` is its DISPLAY value."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-noreset", "-nolisten", "tcp", "-screen", "0", "1024x768x24"],
            pass_fds=(write,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        number = b""
        try:
            while not number.endswith(b"\n"):
                ready, _, _ = select.select([read], [], [], 60)
                chunk = os.read(read, 16) if ready else b""
                if not chunk:
                    self.stop()
                    raise RuntimeError(f"Xvfb named no display (exit code {self.server.returncode})")
                number += chunk
        finally:
            os.close(read)
        self.name = f":{int(number)}"

    def stop(self) -> None:
        if self.server.poll() is None:
            self.server.terminate()
        self.server.wait(timeout=30)

    def xdotool(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["xdotool", *args],
            env={**os.environ, "DISPLAY": self.name},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def window(self, title: str, timeout: float = 120) -> str:
        """The id of the window titled `title` (a regular expression) once it is mapped: a window
        that only exists can't take the focus yet."""
        found = self.xdotool("search", "--sync", "--onlyvisible", "--name", title, timeout=timeout)
        assert found.returncode == 0 and found.stdout.split(), f"no window {title!r} was mapped: {found.stderr}"
        return found.stdout.split()[0]

    def type(self, window: str, text: str) -> None:
        """Type `text` into `window`: it gets the focus first, and the X server's answer to a focus
        query sent after the keys, on the same connection, says it handled them with the focus there."""
        typed = self.xdotool(
            "windowfocus", "--sync", window, "type", "--delay", "20", "--args", "1", text, "getwindowfocus"
        )
        assert typed.returncode == 0, typed.stderr
        assert typed.stdout.split()[-1:] == [window], f"the focus left the window while typing: {typed.stdout}"

    def press(self, window: str, key: str) -> None:
        """Press `key` with the focus on `window` (a key that closes it: wait with `wait_gone`)."""
        pressed = self.xdotool("windowfocus", "--sync", window, "key", key)
        assert pressed.returncode == 0, pressed.stderr

    def visible(self, title: str) -> list[str]:
        found = self.xdotool("search", "--onlyvisible", "--name", title)
        return found.stdout.split()

    def wait_gone(self, title: str, timeout: float = 60) -> None:
        """Until the X server shows no window titled `title`: a dialog closes when its program's
        connection is gone, which the server may handle after the program has exited."""
        deadline = time.monotonic() + timeout
        while self.visible(title):
            assert time.monotonic() < deadline, f"a window {title!r} is still shown after {timeout} s"
            time.sleep(0.05)
