"""clear: sign out. Removes the sessions (cached, MFA session, classic keys) and what runs
remembered (discovery); keeps what `configure` was told (`configure --remove` takes that back)."""

from __future__ import annotations

import argparse

from .. import inifile, marks, sessions
from ..errors import UnsafeWriteError, UsageError
from ..profiles import MARKER, AwsFiles
from .common import SESSION_KEYS, holds_long_term_keys, update_ini


def add_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-p", "--profile", default=argparse.SUPPRESS, help="the profile to sign out of")
    group.add_argument("--all", action="store_true", help="every profile: every session and everything remembered")


def take_back_remembered(text: str, sections, removed: dict[str, list[str]]) -> str:
    """What runs remembered in these config sections, taken back (`removed`: section -> keys)."""
    for section in sections:
        text, keys = marks.take_back(text, section, marks.REMEMBERED)
        if keys:
            removed[section] = keys
    return text


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
    its own lines back. A section holding long-term keys is never the tool's (`kept`)."""
    managed = inifile.sections_with_line(text, MARKER)  # checked again under the lock
    tracked = marks.sections(text, credentials=True)
    bodies = inifile.section_bodies(text)  # one pass for any number of sections
    kept[:] = [n for n in names if n in managed and holds_long_term_keys(inifile.key_values(bodies.get(n, [])))]
    whole = [] if whole is None else whole
    whole.clear()
    for name in names:
        if name not in managed or name in kept:
            continue
        if name in tracked:
            text, _ = marks.take_back(text, name, marks.SESSION, credentials=True)
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


def _profile_of(section: str) -> str:
    return "default" if section == "default" else section.split(None, 1)[-1].strip("\"'")


def run(args) -> int:
    files = AwsFiles.load()
    profile = getattr(args, "profile", None)
    if not args.all and not profile:
        raise UsageError("clear needs -p NAME or --all", "see: terraform-session-token status")
    layers = marks.sections(files.config_text or "")
    if args.all:
        targets = files.managed_profiles()
        caches = sessions.cached_names()
        sections = list(layers)
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
        sections = [section] if section in layers else []
        if targets and not files.is_managed(profile) and not caches and marks.REMEMBERED not in layers.get(section, {}):
            raise UnsafeWriteError(
                f"the profile [{profile}] was not written by terraform-session-token; left alone",
                "remove it by hand if you really want it gone",
            )
        for name in targets:
            if not files.is_managed(name):
                print(f"Left [{name}] in {files.credentials_path} alone: terraform-session-token did not write it")
        targets = [t for t in targets if files.is_managed(t)]

    kept: list[str] = []
    whole: list[str] = []
    if targets:

        def edit(text: str) -> str:
            return take_back_credentials(text, targets, kept, whole)

        update_ini(files.credentials_path, edit)
    said = False
    kept_set, whole_set = set(kept), set(whole)
    for name in targets:
        said = True
        if name in kept_set:
            print(f"Left [{name}] in {files.credentials_path}: it holds long-term keys now, never the tool's to remove")
            continue
        sessions.remove_lock(name)
        if name in whole_set:
            print(f"Removed the session profile [{name}] from {files.credentials_path}")
        else:
            print(f"Took the session back from [{name}] in {files.credentials_path} (the rest of it is yours)")
    for name in caches:
        said = True
        sessions.remove_cached(name)
        if name.startswith(sessions.MFA_PREFIX):
            source = sessions.mfa_cache_source(name)
            shared = "" if args.all else "; profiles sharing it ask for a code next time"
            print(f"Removed the MFA session of source [{source}] ({name}){shared}")
        else:
            print(f"Removed the cached session of [{name}]")
    removed: dict[str, list[str]] = {}
    if any(marks.REMEMBERED in layers[s] for s in sections):
        update_ini(files.config_path, lambda text: take_back_remembered(text, sections, removed))
    for section, keys in removed.items():
        said = True
        print(f"Removed what runs remembered in [{section}] of {files.config_path}: {', '.join(keys)}")
    if args.all:
        leftovers = sessions.remove_tool_files()
        if leftovers:
            said = True
            print(f"Removed {leftovers} lock and temporary file(s) from the cache")
    configured = [s for s in sections if marks.CONFIGURED in layers[s]]
    if not said:
        print(f"Nothing to clear for [{profile}]: no session, nothing remembered." if profile else "Nothing to clear.")
        if profile and not configured and not files.has_profile(profile):
            _say_close_name(profile, files)
    for section in configured:
        keys = [k for k in layers[section][marks.CONFIGURED].keys if k in files.config.get(section, {})]
        name = _profile_of(section)
        print(
            f"Kept what configure was told in [{section}]: {', '.join(keys)} "
            f"(to take it back: terraform-session-token configure --remove -p {name})"
        )
    return 0


def _say_close_name(profile: str, files: AwsFiles) -> None:
    import difflib

    close = difflib.get_close_matches(profile, files.profile_names(), n=1)
    if close:
        print(f"There is no profile [{profile}]; did you mean -p {close[0]}?")
