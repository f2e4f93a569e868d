"""Every file the tool writes goes through here: locked, atomic, 0600, symlinks kept."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator

from . import system
from .errors import ConfigError, UnsafeWriteError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# Temporary files are named .NAME.terraform-session-token-RANDOM.tmp: the sweep of killed
# writers' leftovers matches only those, never a user's own .NAME.something.tmp.
TEMP_TAG = ".terraform-session-token-"
TEMP_SUFFIX = ".tmp"


def temp_prefix(base: str) -> str:
    return f".{base}{TEMP_TAG}"


def is_our_temp(name: str, base: str | None = None) -> bool:
    prefix = temp_prefix(base) if base is not None else "."
    return name.startswith(prefix) and TEMP_TAG in name and name.endswith(TEMP_SUFFIX)


def _refuse(path: str, reason: str, hint: str = "") -> UnsafeWriteError:
    return UnsafeWriteError(
        f"refusing to use {path}: {reason}",
        hint or "remove it, or set TERRAFORM_SESSION_TOKEN_CACHE to a directory only you can use",
    )


def check_private_dir(path: str, create: bool = True) -> None:
    """A directory only the user can use: theirs, 0700, not a symlink, in a parent others can't swap it in.

    Created (0700) when missing. Sessions are secrets: anything else is refused.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return
        ensure_private_dir(path)
        st = os.lstat(path)
    except OSError as e:
        raise _refuse(path, e.strerror or "can't inspect it")
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, "it is a symbolic link")
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "it is not a directory")
    owner = system.foreign_owner(st)
    if owner:
        raise _refuse(path, owner)
    if system.shared_mode(st):
        raise _refuse(path, f"others may use it (mode {stat.S_IMODE(st.st_mode):o})", f"chmod 700 {path}")
    parent = os.lstat(os.path.dirname(os.path.abspath(path)))
    if system.shared_mode(parent) & 0o022 and not parent.st_mode & stat.S_ISVTX:
        raise _refuse(path, "others can write in its parent directory and swap it for theirs")


def _open_private(path: str, flags: int) -> int:
    """Open a file of a private directory without following a link; refuse one that is not the user's."""
    if not system.NO_FOLLOW and os.path.islink(path):
        raise _refuse(path, "it is a symbolic link")
    try:
        fd = os.open(path, flags | system.NO_FOLLOW | system.OPEN_FLAGS, PRIVATE_FILE)
    except OSError as e:
        if system.is_loop(e):
            raise _refuse(path, "it is a symbolic link")
        raise
    st = os.fstat(fd)
    reason = None
    if not stat.S_ISREG(st.st_mode):
        reason = "it is not a regular file"
    elif system.foreign_owner(st):
        reason = system.foreign_owner(st)
    elif system.shared_mode(st):
        reason = f"others may read it (mode {stat.S_IMODE(st.st_mode):o})"
    if reason:
        os.close(fd)
        raise _refuse(path, reason)
    return fd


def read_private(path: str) -> str | None:
    """A private file's text (None when absent); a foreign, shared or linked file is refused."""
    try:
        fd = _open_private(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    return data.decode("utf-8", errors="replace")


def write_private(path: str, text: str) -> None:
    """Replace a file of a private directory: a new 0600 file renamed over the name (links are replaced,
    never followed), after removing leftovers of this name's killed writers."""
    import tempfile

    directory, base = os.path.split(path)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=temp_prefix(base), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        system.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def is_devnull(path: str) -> bool:
    """The null device, wherever its node is (containers bind it, tests mknod it)."""
    try:
        st, null = os.stat(path), os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def read_text(path: str) -> str | None:
    """The file's text, or None when it does not exist. /dev/null reads as empty (as botocore
    reads it); other special files (a FIFO would block every command) are refused."""
    try:
        fd = os.open(path, os.O_RDONLY | system.OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a file", "point the setting at a file")
    except PermissionError:
        raise ConfigError(f"can't read {path}: permission denied", f"check the owner and mode of {path}")
    except OSError as e:
        if system.is_loop(e):
            raise ConfigError(f"can't read {path}: a loop of symbolic links", "fix the link")
        raise ConfigError(f"can't read {path}: {e.strerror}", "check the path")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path} is a directory, not a file", "point the setting at a file")
        if is_devnull(path):
            return ""
        raise ConfigError(f"{path} is {_kind(mode)}, not a file", "point the setting at a regular file")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read()
        except OSError as e:
            raise ConfigError(f"can't read {path}: {e.strerror}", "check the file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text", "fix its encoding; it was left untouched")


def check_replaceable(path: str) -> None:
    """Before anything is spent: the file (if any) and its directory can be written, and it is a regular file."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise UnsafeWriteError(f"can't use {path}: {e.strerror}", "fix the path")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UnsafeWriteError(
            f"{path} is {_kind(st.st_mode)}; it is never replaced", "point the setting at a regular file"
        )
    if st is not None and not os.access(real, os.W_OK):
        raise UnsafeWriteError(f"can't write {real}: it is read-only", "make it writable, or use another file")
    directory = os.path.dirname(real)
    while not os.path.exists(directory):
        directory = os.path.dirname(directory)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UnsafeWriteError(
            f"can't write in {os.path.dirname(real)}: permission denied or read-only",
            "the file would be replaced atomically there; fix the directory's permissions",
        )


def ensure_private_dir(path: str) -> None:
    """Create a directory and its missing parents, each 0700 whatever the umask (os.makedirs gives
    the parents the umask's mode: 0775 under umask 002, which check_private_dir then refuses as
    a parent others can write in). Directories that exist keep their mode, and so does one that
    a parallel run created first."""
    if os.path.isdir(path):
        return
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR)
        except FileExistsError:
            if os.path.isdir(directory):
                continue  # a parallel run made it (0700 too), or a link to one: checked by its user
            raise UnsafeWriteError(f"can't create directory {directory}: a file is in the way", "remove it")
        except OSError as e:
            raise UnsafeWriteError(f"can't create directory {directory}: {e.strerror}", "create it by hand")
        try:
            os.chmod(directory, PRIVATE_DIR)  # the umask may have taken bits off 0700 (umask 0277)
        except OSError:
            pass


LOCK_POLL = 0.05


@contextlib.contextmanager
def locked(path: str, timeout: float | None = None, wait_limit: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a lock file we own) for the duration of the block.

    With `timeout`, give up after that many seconds: the holder is another run of the tool,
    most likely waiting at a prompt that nobody answers.
    """
    check_private_dir(os.path.dirname(path) or ".")
    try:
        fd = _open_private(path, os.O_RDWR | os.O_CREAT)
    except UnsafeWriteError:
        raise
    except OSError as e:
        raise UnsafeWriteError(f"can't create lock file {path}: {e.strerror}", "check permissions")
    try:
        if timeout is None:
            system.wait_lock(fd)
        else:
            _lock_within(fd, timeout, wait_limit if wait_limit is not None else timeout)
        yield
    finally:
        os.close(fd)


def _lock_within(fd: int, timeout: float, wait_limit: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        if system.try_lock(fd):
            return
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
    """Serialise writers of files in `directory`: by locking the directory itself (POSIX), or a
    lock file of the tool's named after it (Windows). Never the file: the atomic rename puts a new
    file in its place, and a lock on it would block the SDKs that read it."""
    lock_path = system.directory_lock_path(directory)
    if lock_path is None:
        fd = system.lock_directory_fd(directory)
    else:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | system.OPEN_FLAGS, PRIVATE_FILE)
    try:
        system.wait_lock(fd)
        yield
    finally:
        os.close(fd)


def lock_directory_within(directory: str, timeout: float) -> int | None:
    """Take the lock directory_locked takes for `directory`, waiting at most `timeout` seconds: the
    descriptor holding it (closing it releases the lock), or None when another run held it that long."""
    import time

    lock_path = system.directory_lock_path(directory)
    if lock_path is None:
        fd = system.lock_directory_fd(directory)
    else:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | system.OPEN_FLAGS, PRIVATE_FILE)
    deadline = time.monotonic() + timeout
    while not system.try_lock(fd):
        if time.monotonic() >= deadline:
            os.close(fd)
            return None
        time.sleep(LOCK_POLL)
    return fd


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
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=temp_prefix(os.path.basename(real)), suffix=TEMP_SUFFIX)
    except OSError as e:
        raise UnsafeWriteError(f"can't write in {directory}: {e.strerror}", "check the directory's permissions")
    data = text.encode("utf-8")
    try:
        with os.fdopen(fd, "wb") as f:
            if existing is not None:
                system.copy_owner_and_mode(f.fileno(), existing)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            system.replace(tmp, real)
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.EXDEV) or existing is None:
                raise
            # A single file bind-mounted (docker -v ~/.aws/credentials:...): no rename can
            # replace it. The new text is complete on disk first; then it is written in place.
            _rewrite_in_place(real, data)
            os.unlink(tmp)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, PermissionError) and getattr(e, "winerror", None):
            raise UnsafeWriteError(
                f"can't replace {real}: another program keeps it open; it was left untouched",
                "close the editor or program that has it open, and run again",
            )
        if isinstance(e, OSError):
            raise UnsafeWriteError(
                f"can't write {real}: {e.strerror}; it was left untouched",
                "free some space" if e.errno == errno.ENOSPC else "check the file and its directory",
            )
        raise
    system.fsync_directory(directory)


def _rewrite_in_place(real: str, data: bytes) -> None:
    """Overwrite the file's bytes and cut it to length, then fsync (under the caller's lock)."""
    fd = os.open(real, os.O_WRONLY | system.OPEN_FLAGS)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temporaries(real: str) -> None:
    """Temp files of writers killed mid-write (0600, so never exposed): safe to remove under the lock."""
    directory, base = os.path.split(real)
    for name in os.listdir(directory):
        if is_our_temp(name, base):
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
        check_replaceable(real)
        old = read_text(real)
        new = edit(old or "")
        if new != (old or "") or old is None:
            atomic_write(real, new)
        return old, new


def no_core_dumps() -> None:
    """Long-term keys are about to be in this process's memory: no core file may carry them, and
    (on Linux) no other process of the user may attach to read them."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    if os.name == "posix" and os.uname().sysname == "Linux":
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
        except (OSError, AttributeError):
            pass
