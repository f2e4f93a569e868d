"""clear: remove what this tool wrote (session profiles, config keys it added, caches), nothing else."""

from __future__ import annotations

import argparse

from .. import inifile, sessions
from ..errors import UnsafeWriteError, UsageError
from ..profiles import MARKER, WROTE_MARKER, AwsFiles
from .common import SESSION_KEYS, holds_long_term_keys, marker_parts, update_ini


def add_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-p", "--profile", default=argparse.SUPPRESS, help="the session profile to remove")
    group.add_argument("--all", action="store_true", help="everything this tool wrote, for every profile")


def take_back_config(text: str, sections, remove_emptied: bool = True) -> str:
    """Remove the keys the tool added to these sections and its marker line, and put back the
    values it replaced; a section left with nothing but its header (one the tool created) goes
    too: the file as it was before."""
    marked = inifile.lines_starting(text, WROTE_MARKER)
    emptied = []
    for section in sections:
        if section not in marked:
            continue
        keys, replaced = marker_parts(marked[section])
        text = inifile.set_section(text, section, {**dict.fromkeys(keys), **replaced})
        text = inifile.remove_line(text, section, WROTE_MARKER, prefix=True)
        if remove_emptied and inifile.has_only_header(text, section):
            emptied.append(section)
    return inifile.remove_sections(text, emptied)


def _only_the_tools(lines) -> bool:
    """Whether a section the tool created holds nothing but what it wrote there."""
    return all(
        ln.kind == "blank"
        or (ln.kind == "comment" and ln.text.strip() == MARKER)
        or (ln.kind == "key" and ln.key in SESSION_KEYS)
        for ln in lines
    )


def take_back_credentials(text: str, names, kept: list[str], whole: list[str] | None = None) -> str:
    """The session profiles the tool wrote, taken back: a section it created goes whole unless the
    user added lines to it (then only the tool's keys and marker go); a section the user had gets
    its own keys and values back. A section holding long-term keys is never the tool's (`kept`)."""
    managed = inifile.sections_with_line(text, MARKER)  # checked again under the lock
    tracked = inifile.lines_starting(text, WROTE_MARKER)
    bodies = inifile.section_bodies(text)  # one pass for any number of sections
    kept[:] = [n for n in names if n in managed and holds_long_term_keys(inifile.key_values(bodies.get(n, [])))]
    whole = [] if whole is None else whole
    whole.clear()
    for name in names:
        if name not in managed or name in kept:
            continue
        if name in tracked:
            text = take_back_config(text, [name], remove_emptied=False)
            text = inifile.remove_line(text, name, MARKER)
        elif _only_the_tools(bodies.get(name, [])):
            whole.append(name)
        else:
            text = inifile.set_section(text, name, dict.fromkeys(SESSION_KEYS))
            text = inifile.remove_line(text, name, MARKER)
    return inifile.remove_sections(text, whole)


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
    whole: list[str] = []
    if targets:

        def edit(text: str) -> str:
            return take_back_credentials(text, targets, kept, whole)

        update_ini(files.credentials_path, edit)
    kept_set, whole_set = set(kept), set(whole)
    for name in targets:
        if name in kept_set:
            print(f"Left [{name}] in {files.credentials_path}: it holds long-term keys now, never the tool's to remove")
        else:
            sessions.remove_lock(name)
            if name in whole_set:
                print(f"Removed the profile [{name}] from {files.credentials_path}")
            else:
                print(f"Took the session back from [{name}] in {files.credentials_path} (the rest of it is yours)")
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
