"""clear: remove session profiles and cached sessions this tool wrote, nothing else."""

from __future__ import annotations

import os

from .. import inifile, sessions, storage
from ..errors import UnsafeWriteError, UsageError
from ..profiles import MARKER, AwsFiles


def add_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("-p", "--profile", help="the session profile to remove")
    group.add_argument("--all", action="store_true", help="every session profile and cache this tool wrote")


def run(args) -> int:
    files = AwsFiles.load()
    if args.all:
        targets = files.managed_profiles()
        caches = sessions.cached_names()
    else:
        try:
            inifile.check_profile_name(args.profile)
        except ValueError as e:
            raise UsageError(str(e), "")
        targets = [args.profile] if args.profile in files.credentials else []
        caches = [args.profile] if args.profile in sessions.cached_names() else []
        if targets and not files.is_managed(args.profile):
            raise UnsafeWriteError(
                f"the profile [{args.profile}] was not written by terraform-session-token; left alone",
                "remove it by hand if you really want it gone",
            )
        if not targets and not caches:
            raise UsageError(f"no session profile or cache named {args.profile}", "see: terraform-session-token status")

    if targets:

        def edit(text: str) -> str:
            managed = inifile.sections_with_line(text, MARKER)  # checked again under the lock
            return inifile.remove_sections(text, [name for name in targets if name in managed])

        storage.update_file(files.credentials_path, edit)
    for name in targets:
        print(f"Removed the profile [{name}] from {files.credentials_path}")
    for name in caches:
        os.unlink(sessions.cache_file(name))
        print(f"Removed the cached session {name}")
    if args.all:
        leftovers = sessions.remove_temporaries()
        if leftovers:
            print(f"Removed {leftovers} temporary file(s) of interrupted writes from the cache")
    if not targets and not caches:
        print("Nothing to clear.")
    return 0
