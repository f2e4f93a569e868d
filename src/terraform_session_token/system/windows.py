"""Windows: msvcrt locks on separate lock files, replace retried while another program has the
file open, the console (CONIN$, CONOUT$), and exec as a child process.

Files live in the user's profile, whose ACL already keeps other users out: there is no POSIX
owner or mode to check. A byte-range lock is never taken on a file that an SDK reads (it would
block the read): the credentials file's writers lock a file of their own in the tool's directory.
"""

from __future__ import annotations

import os
import time
import zlib

NAME = "windows"
OPEN_FLAGS = os.O_BINARY | os.O_NOINHERIT  # bytes as they are (CRLF kept); no handle leaks into children
NO_FOLLOW = 0  # links are refused by an lstat before the open
TERMINAL_IN, TERMINAL_OUT = "CONIN$", "CONOUT$"
REPLACE_PATIENCE = 5.0  # seconds a replace is retried while another program holds the file open
SHARING_VIOLATIONS = (5, 32, 33)  # access denied, sharing violation, lock violation
# A process's command line is read through a handle to it, which another (non-administrator) user
# can't open: the default security descriptor of a process grants only its user and SYSTEM.
COMMAND_LINES_PRIVATE = True


def try_lock(fd: int) -> bool:
    import msvcrt

    try:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


def wait_lock(fd: int) -> None:
    while not try_lock(fd):
        time.sleep(0.05)


def directory_lock_path(directory: str) -> str | None:
    """A lock file of the tool's own, named after the directory, in %LOCALAPPDATA%."""
    base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    locks = os.path.join(base, "terraform-session-token", "locks")
    os.makedirs(locks, exist_ok=True)
    key = zlib.crc32(os.path.normcase(os.path.abspath(directory)).encode("utf-8", "surrogateescape"))
    return os.path.join(locks, f"dir-{key:08x}.lock")


def lock_directory_fd(directory: str) -> int:
    raise NotImplementedError("Windows locks directories through directory_lock_path")


def foreign_owner(st: os.stat_result) -> str | None:
    return None  # the profile directory's ACL: no uid to compare


def shared_mode(st: os.stat_result) -> int:
    return 0  # mode bits are only the read-only flag here


def copy_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    pass  # the new file inherits the directory's ACL, as the old one did


def replace(tmp: str, real: str) -> None:
    """os.replace, retried while an editor, an SDK or a virus scanner has the file open."""
    deadline = time.monotonic() + REPLACE_PATIENCE
    while True:
        try:
            os.replace(tmp, real)
            return
        except PermissionError as e:
            if getattr(e, "winerror", None) not in SHARING_VIOLATIONS or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def fsync_directory(directory: str) -> None:
    pass  # NTFS journals the rename; a directory can't be opened for fsync


def open_terminal_fds() -> tuple[int, int] | None:
    """The console as (input, output): CONIN$ reads keys, CONOUT$ shows text (None: no console)."""
    try:
        keys = os.open("CONIN$", os.O_RDWR | os.O_NOINHERIT)
    except OSError:
        return None
    try:
        screen = os.open("CONOUT$", os.O_RDWR | os.O_NOINHERIT)
    except OSError:
        os.close(keys)
        return None
    return keys, screen


def readable_within(stream, timeout: float) -> bool:
    """Whether a line can be read from the console before `timeout` (select takes only sockets here)."""
    import msvcrt

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if msvcrt.kbhit():
            return True
        time.sleep(0.05)
    return False


def input_waiting(stream) -> bool:
    """Whether reading piped input now returns at once: a pipe with bytes in it or no writer left
    (PeekNamedPipe), or a file (NUL, a redirected file). A pipe still open and empty, or one that
    can't be peeked (Wine's), waits: the prompt is shown first, as a program answering it expects."""
    import ctypes
    import msvcrt
    from ctypes import wintypes

    try:
        handle = wintypes.HANDLE(msvcrt.get_osfhandle(stream.fileno()))
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        if kernel32.GetFileType(handle) != 3:  # FILE_TYPE_PIPE
            return True
        available = wintypes.DWORD(0)
        if kernel32.PeekNamedPipe(handle, None, 0, None, ctypes.byref(available), None):
            return available.value > 0
        return ctypes.get_last_error() == 109  # ERROR_BROKEN_PIPE: no writer left, a read ends at once
    except (OSError, ValueError, AttributeError):
        return False


def run_instead(argv: list[str], env: dict[str, str]) -> int:
    """No exec on Windows: run the command as a child and pass its exit code back. Ctrl-C reaches
    the child from the console itself; this process ignores it rather than stopping first."""
    import signal
    import subprocess

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(argv, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)


def is_loop(error: OSError) -> bool:
    return False


def terminal_reached_child() -> bool:
    """The console sends Ctrl-C and Ctrl-Break to every process attached to it, the child too."""
    return True


def command_line(argv: list[str]) -> str:
    """argv as one line that both readers of credential_process run: botocore splits it as
    CommandLineToArgvW does, the Go SDK (Terraform's) hands it to cmd.exe /C after quoting it
    once more, which loses the arguments of a quoted program path. So a path with spaces
    (C:\\Program Files\\...) is written as its 8.3 short name, which has none; only where the
    volume keeps no short names is it quoted (botocore then runs it, the Go SDK can't)."""
    import subprocess

    argv = [_short_path(a) if " " in a and os.path.exists(a) else a for a in argv]
    return subprocess.list2cmdline(argv)


def _short_path(path: str) -> str:
    import ctypes

    size = ctypes.windll.kernel32.GetShortPathNameW(path, None, 0)
    if not size:
        return path
    buffer = ctypes.create_unicode_buffer(size)
    if not ctypes.windll.kernel32.GetShortPathNameW(path, buffer, size) or " " in buffer.value:
        return path
    return buffer.value


CREATE_SUSPENDED = 0x00000004


def run_bounded(command, shell: bool, stdin, stdout, stderr, timeout: float):
    """subprocess.run for a command that must end by `timeout`: it starts suspended, joins a Job
    Object of its own and only then runs, so that everything it starts is in the job; when it
    outlives the timeout, or this process is interrupted, the whole job is terminated, not only
    cmd.exe. A process it leaves behind after a normal end is not touched. (Where no job can be
    had, it runs as before and only the command itself is killed.)"""
    import ctypes
    import subprocess
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.CreateJobObjectW.argtypes = (ctypes.c_void_p, wintypes.LPCWSTR)
    kernel32.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
    kernel32.TerminateJobObject.argtypes = (wintypes.HANDLE, wintypes.UINT)
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    ntdll = ctypes.WinDLL("ntdll")
    ntdll.NtResumeProcess.argtypes = (wintypes.HANDLE,)
    job = kernel32.CreateJobObjectW(None, None)
    proc = subprocess.Popen(
        command, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr, text=True, creationflags=CREATE_SUSPENDED
    )
    try:
        handle = wintypes.HANDLE(int(proc._handle))
        in_job = bool(job) and bool(kernel32.AssignProcessToJobObject(job, handle))
        ntdll.NtResumeProcess(handle)
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            if in_job:
                kernel32.TerminateJobObject(job, 1)
            else:
                proc.kill()
            try:
                proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            raise
    finally:
        if job:
            kernel32.CloseHandle(job)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def loopback_peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    return None  # no uid to tell; command lines are private (COMMAND_LINES_PRIVATE)
