"""Every file the tool writes goes through here: locked, atomic, 0600, symlinks kept."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Callable, Iterator

from .errors import ConfigError, UnsafeWriteError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def read_text(path: str) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a file", "point the setting at a file")
    except PermissionError:
        raise ConfigError(f"can't read {path}: permission denied", f"check the owner and mode of {path}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text", "fix its encoding; it was left untouched")


def ensure_private_dir(path: str) -> None:
    """Create a directory (and parents) as 0700 if missing; an existing one keeps its mode."""
    if os.path.isdir(path):
        return
    try:
        os.makedirs(path, mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(path, PRIVATE_DIR)
    except OSError as e:
        raise UnsafeWriteError(f"can't create directory {path}: {e.strerror}", "create it by hand")


LOCK_POLL = 0.05


@contextlib.contextmanager
def locked(path: str, timeout: float | None = None, wait_limit: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a lock file we own) for the duration of the block.

    With `timeout`, give up after that many seconds: the holder is another run of the tool,
    most likely waiting at a prompt that nobody answers.
    """
    ensure_private_dir(os.path.dirname(path) or ".")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as e:
        raise UnsafeWriteError(f"can't create lock file {path}: {e.strerror}", "check permissions")
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            _lock_within(fd, timeout, wait_limit if wait_limit is not None else timeout)
        yield
    finally:
        os.close(fd)


def _lock_within(fd: int, timeout: float, wait_limit: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                from .errors import MfaError

                raise MfaError(
                    f"gave up after {wait_limit:g} s waiting for another terraform-session-token "
                    "that is refreshing this session (it is probably waiting for an MFA code)",
                    "answer its prompt, or set mfa_process so that no prompt is needed",
                )
            time.sleep(LOCK_POLL)


@contextlib.contextmanager
def directory_locked(directory: str) -> Iterator[None]:
    """Serialise writers of files in `directory` by locking the directory itself.

    Locking the file would not work: the atomic rename puts a new inode in its place.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def atomic_write(path: str, text: str) -> None:
    """Replace the file at `path` (or a symlink's target) in one rename, after fsync."""
    import tempfile

    real = os.path.realpath(path)
    directory = os.path.dirname(real)
    try:
        existing = os.stat(real)
    except FileNotFoundError:
        existing = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(real)}.", suffix=".tmp")
    except OSError as e:
        raise UnsafeWriteError(f"can't write in {directory}: {e.strerror}", "check the directory's permissions")
    try:
        with os.fdopen(fd, "wb") as f:
            if existing is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(existing.st_mode))
                with contextlib.suppress(PermissionError):
                    os.fchown(f.fileno(), existing.st_uid, existing.st_gid)
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _remove_stale_temporaries(real: str) -> None:
    """Temp files of writers killed mid-write (0600, so never exposed): safe to remove under the lock."""
    directory, base = os.path.split(real)
    prefix = f".{base}."
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def update_file(path: str, edit: Callable[[str], str]) -> tuple[str | None, str]:
    """Under the directory lock, read the file, apply `edit` to its text and write it back.

    Returns (old text or None, new text). Nothing is written when the text is unchanged.
    """
    real = os.path.realpath(path)
    directory = os.path.dirname(real)
    ensure_private_dir(directory)
    with directory_locked(directory):
        _remove_stale_temporaries(real)
        old = read_text(real)
        new = edit(old or "")
        if new != (old or "") or old is None:
            atomic_write(real, new)
        return old, new
