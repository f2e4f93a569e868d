"""The one seam between the tool and the operating system: POSIX (Linux, macOS) or Windows.

Each side is one small module with the same names: how a file is locked, opened without
following a link and replaced atomically, what makes a file or directory private, where the
terminal is, and how exec hands over to the command. Nothing else asks which system it runs on.
"""

from __future__ import annotations

import os

if os.name == "nt":
    from .windows import *  # noqa: F403
else:
    from .posix import *  # noqa: F403
