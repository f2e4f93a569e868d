"""POSIX (Linux, macOS): flock, O_NOFOLLOW, owner and mode bits, /dev/tty, execvpe."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys

NAME = "posix"
OPEN_FLAGS = os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO must not block the open; no fd leaks into children
NO_FOLLOW = os.O_NOFOLLOW
TERMINAL_IN = TERMINAL_OUT = "/dev/tty"
# macOS shows a process's arguments only to its own user and root (XNU's sysctl_procargsx refuses
# another uid); Linux shows every process's command line to every user (/proc/PID/cmdline).
COMMAND_LINES_PRIVATE = sys.platform == "darwin"


def try_lock(fd: int) -> bool:
    """Take the exclusive lock of an open lock file without waiting; False when another holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def wait_lock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_EX)


def directory_lock_path(directory: str) -> str | None:
    """The directory itself is locked (None: lock `directory`), not a file in it: the atomic rename
    puts a new inode in the file's place."""
    return None


def lock_directory_fd(directory: str) -> int:
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def foreign_owner(st: os.stat_result) -> str | None:
    """Why a file or directory is not the user's own (None when it is)."""
    return f"it is owned by uid {st.st_uid}, not by you" if st.st_uid != os.geteuid() else None


def shared_mode(st: os.stat_result) -> int:
    """The permission bits that give others access (0 when none)."""
    return st.st_mode & 0o077


def copy_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    try:
        os.fchown(fd, existing.st_uid, existing.st_gid)
    except PermissionError:
        pass


def replace(tmp: str, real: str) -> None:
    os.replace(tmp, real)


def fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_terminal_fds() -> tuple[int, int] | None:
    """The controlling terminal as (input, output) for a code command's stdin and stderr (None:
    there is none). One descriptor, read-write, serves both."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    return fd, fd


def readable_within(stream, timeout: float) -> bool:
    import select

    ready, _, _ = select.select([stream], [], [], timeout)
    return bool(ready)


def input_waiting(stream) -> bool:
    """Whether reading piped input now returns at once (a line, or its end) instead of waiting on
    a writer that has not written yet (a program that answers prompts only once they are shown)."""
    return readable_within(stream, 0)


def run_instead(argv: list[str], env: dict[str, str]) -> int:
    """Replace this process with the command: its exit code and signals pass through untouched."""
    os.execvpe(argv[0], argv, env)
    raise AssertionError("execvpe returned")


def is_loop(error: OSError) -> bool:
    return error.errno == errno.ELOOP


def terminal_reached_child() -> bool:
    """Whether Ctrl-C at the terminal also reached exec's child: we are in the terminal's foreground
    process group (and the child with us), so forwarding it would deliver it twice."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def command_line(argv: list[str]) -> str:
    """argv as one line that sh (and botocore's POSIX split) reads back as argv."""
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


def run_bounded(command, shell: bool, stdin, stdout, stderr, timeout: float):
    """subprocess.run for a command that must end by `timeout`: it runs in a session (and process
    group) of its own, and when it outlives the timeout, or this process is interrupted, the whole
    group is killed: a shell's pipeline (`waiter | tr -d ' '`) with it, not the shell alone.
    Its stdin and stderr may still be the terminal (given as descriptors); it is only not its
    controlling terminal, so that its reads are never stopped as a background group's."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        command, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass  # the group is gone already
        try:
            proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            pass  # a process that left the group holds our pipe: it is not waited for
        raise
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def _proc_net_address(host: str, port: int, six: bool) -> str:
    """An address as /proc/net/tcp{,6} prints it: the address's 32-bit words in host order, in hex."""
    import socket
    import struct

    if six:
        words = struct.unpack("=4I", socket.inet_pton(socket.AF_INET6, "::ffff:" + host))
    else:
        words = struct.unpack("=I", socket.inet_aton(host))
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def loopback_peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the socket that connected from `client` to `server` (IPv4 loopback), as the
    kernel lists it in /proc/net/tcp (tcp6 for a v4-mapped socket); `client` == `server` finds the
    listening socket itself. None when it can't be told (no /proc/net, no such socket, or one no
    longer owned: a closed connection's entry lists uid 0 and inode 0)."""
    found = None
    for table, six in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            local, remote = _proc_net_address(*client, six), _proc_net_address(*server, six)
        except (OSError, ValueError):
            continue
        if client == server:
            remote = ("0" * 32 if six else "0" * 8) + ":0000"
        try:
            with open(table, encoding="ascii", errors="replace") as f:
                for line in f:
                    fields = line.split()
                    if len(fields) > 9 and fields[1] == local and fields[2] == remote and fields[9] != "0":
                        found = int(fields[7])
                        break
        except (OSError, ValueError):
            continue
        if found is not None:
            return found
    return None
