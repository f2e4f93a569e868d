"""The one seam between the tool and the operating system: POSIX (Linux, macOS) or Windows.

Each side is one small module defining every name of INTERFACE: how a file is locked, opened
without following a link and replaced atomically, what makes a file or directory private, where
the terminal is, how exec hands over to the command, how a command and all it starts are stopped
at a deadline, how a command line is quoted, and whether another user can see one or connect as
us to a loopback address. Nothing
else asks which system it runs on.
"""

from __future__ import annotations

import os

INTERFACE = (
    "NAME", "OPEN_FLAGS", "NO_FOLLOW", "TERMINAL_IN", "TERMINAL_OUT",  # constants
    "try_lock", "wait_lock", "directory_lock_path", "lock_directory_fd",  # locks
    "foreign_owner", "shared_mode", "copy_owner_and_mode", "replace", "fsync_directory", "is_loop",  # files
    "open_terminal_fds", "readable_within", "input_waiting",  # the terminal, piped input
    "COMMAND_LINES_PRIVATE", "loopback_peer_uid",  # who sees a browser's command line, who connects
    "run_instead", "terminal_reached_child", "command_line", "run_bounded",  # commands
)  # fmt: skip

if os.name == "nt":
    from . import windows as _system
else:
    from . import posix as _system

globals().update({name: getattr(_system, name) for name in INTERFACE})
