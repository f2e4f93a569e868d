"""clear: remove what this tool wrote (session profiles, config keys it added, caches), nothing else."""

from __future__ import annotations

import argparse

from .. import inifile, sessions
from ..errors import UnsafeWriteError, UsageError
from ..profiles import MARKER, WROTE_MARKER, AwsFiles
from .common import holds_long_term_keys, update_ini, written_keys


def add_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-p", "--profile", default=argparse.SUPPRESS, help="the session profile to remove")
    group.add_argument("--all", action="store_true", help="everything this tool wrote, for every profile")


def take_back_config(text: str, sections) -> str:
    """Remove the keys the tool added to these config sections, its marker line, and a section
    left with nothing but its header (one the tool created): the file as it was before."""
    marked = inifile.lines_starting(text, WROTE_MARKER)
    emptied = []
    for section in sections:
        if section not in marked:
            continue
        text = inifile.set_section(text, section, dict.fromkeys(written_keys(marked[section])))
        text = inifile.remove_line(text, section, WROTE_MARKER, prefix=True)
        if inifile.has_only_header(text, section):
            emptied.append(section)
    return inifile.remove_sections(text, emptied)


def _mfa_session_of(profile: str, files: AwsFiles) -> str | None:
    """The cache name of the MFA session the profile uses (mfa_session with a known device), if any."""
    from ..profiles import resolve

    try:
        settings = resolve(argparse.Namespace(profile=profile), files)
    except Exception:  # a profile the tool can't resolve uses no MFA session of its
        return None
    if settings.mfa_session and settings.mfa_serial:
        return sessions.mfa_cache_name(settings.source_profile, settings.mfa_serial)
    return None


def run(args) -> int:
    files = AwsFiles.load()
    profile = getattr(args, "profile", None)
    if not args.all and not profile:
        raise UsageError("clear needs -p NAME or --all", "see: terraform-session-token status")
    if args.all:
        targets = files.managed_profiles()
        caches = sessions.cached_names()
        config_sections = list(inifile.lines_starting(files.config_text or "", WROTE_MARKER))
    else:
        try:
            inifile.check_profile_name(profile)
        except ValueError as e:
            raise UsageError(str(e), "")
        targets = [profile] if profile in files.credentials else []
        cached = sessions.cached_names()
        caches = [profile] if profile in cached else []
        mfa = _mfa_session_of(profile, files)
        if mfa in cached:
            caches.append(mfa)
        section = files.config_section(profile)
        config_sections = [section] if section in inifile.lines_starting(files.config_text or "", WROTE_MARKER) else []
        if targets and not files.is_managed(profile):
            raise UnsafeWriteError(
                f"the profile [{profile}] was not written by terraform-session-token; left alone",
                "remove it by hand if you really want it gone",
            )
        if not targets and not caches and not config_sections:
            raise UsageError(f"no session profile or cache named {profile}", "see: terraform-session-token status")

    kept: list[str] = []
    if targets:

        def edit(text: str) -> str:
            managed = inifile.sections_with_line(text, MARKER)  # checked again under the lock
            parsed = inifile.parse(text)
            kept[:] = [n for n in targets if n in managed and holds_long_term_keys(parsed.get(n, {}))]
            return inifile.remove_sections(text, [n for n in targets if n in managed and n not in kept])

        update_ini(files.credentials_path, edit)
    for name in targets:
        if name in kept:
            print(f"Left [{name}] in {files.credentials_path}: it holds long-term keys now, never the tool's to remove")
        else:
            print(f"Removed the profile [{name}] from {files.credentials_path}")
    if config_sections:
        update_ini(files.config_path, lambda text: take_back_config(text, config_sections))
        for section in config_sections:
            print(f"Removed what terraform-session-token wrote into [{section}] of {files.config_path}")
    for name in caches:
        sessions.remove_cached(name)
        if name.startswith(sessions.MFA_PREFIX) and not args.all:
            print(f"Removed the MFA session it used ({name}); profiles sharing it ask for a code next time")
        else:
            print(f"Removed the cached session {name}")
    if args.all:
        leftovers = sessions.remove_tool_files()
        if leftovers:
            print(f"Removed {leftovers} lock and temporary file(s) from the cache")
    if not targets and not caches and not config_sections:
        print("Nothing to clear.")
    return 0
