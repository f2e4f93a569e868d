"""configure: make a config profile get its credentials from this tool (credential_process)."""

from __future__ import annotations

import os
import sys

from .. import marks, options
from ..errors import UsageError
from ..options import OWN_ROLE_KEY, OWN_ROLE_NAME_KEY
from . import common


def add_arguments(parser) -> None:
    """configure stores the session options it is given in the profile."""
    parser.add_argument(
        "--remove",
        action="store_true",
        help="take back what configure wrote into the profile, byte for byte (sessions stay: clear removes them)",
    )


def tool_command() -> str:
    """How AWS readers should call this tool: the installed command that runs this installation,
    by its absolute path (PATH does not matter), quoted for the system's command line (botocore
    splits it; the Go SDK hands it to sh -c or cmd.exe /C).

    Run through the command (the launcher an installer made of the entry point), sys.argv[0] is
    it (on Windows without its .exe, which the launcher's script strips); run as `python -m`, the
    command in this Python's scripts directory; with none there, `python -m` itself."""
    import sysconfig

    from .. import system

    windows = system.NAME == "windows"
    exe = ".exe" if windows else ""
    argv0 = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if argv0 and os.path.basename(argv0) != "__main__.py":
        launcher = argv0 if argv0.lower().endswith(exe) else argv0 + exe
        if os.path.isfile(launcher):
            return system.command_line([launcher])
    launcher = os.path.join(sysconfig.get_path("scripts"), "terraform-session-token" + exe)
    if os.path.isfile(launcher):
        return system.command_line([launcher])
    return system.command_line([sys.executable, "-m", "terraform_session_token"])


def run(args) -> int:
    refused = options.refused_by_configure(args)
    if refused:
        raise UsageError("configure can't store " + "; ".join(refused), "pass those to the commands that use them")
    if getattr(args, "remove", False):
        return remove(args)
    if getattr(args, "no_role", False) and not getattr(args, "serial", None):
        raise UsageError(
            "configure --no-role needs --serial", "a profile with mfa_serial and no role is a user session"
        )
    files, settings = common.load(args, new_profile_ok=True)
    common.refuse_aws_style_target(settings, files)
    section = files.config_section(settings.profile)
    process = f"{tool_command()} credential-process -p {settings.profile}"
    values = {"credential_process": process, **options.configure_values(args)}
    if values.get("session_policy"):
        # The policy as checked and sent (a file:// read now): the profile is whole in the config
        # file, and the hot path, which watches that file, sees any change to it.
        values["session_policy"] = settings.narrowing.policy
    for option in options.OPTIONS:
        value = options.given(args, option.dest)
        if option.kind == "list" and value is not None and option.split(option.config_text(value)) != value:
            raise UsageError(
                f"{option.flags[-1]} {', '.join(map(repr, value))} can't be stored so that it reads back the same",
                "no white space at the ends of an item",
            )
    # A region is written when given, or when the profile has none yet (the one it will use).
    if settings.origins.get("region") != "flag" and files.config_for(settings.profile).get("region"):
        values.pop("region", None)
    else:
        values["region"] = settings.region
    if getattr(args, "no_role", False):
        values[OWN_ROLE_KEY] = values[OWN_ROLE_NAME_KEY] = None  # no role: mfa_serial alone makes it a user session
    for key, value in values.items():
        if value is not None and (value != value.strip() or any(c in value for c in "\r\n\x00")):
            raise UsageError(
                f"the value for {key} has a line break or white space at its ends",
                "a config file value is one line without surrounding spaces",
            )
    if "duration_seconds" in values:
        settings.duration = int(values["duration_seconds"])
        settings.effective_duration()

    def edit(text: str) -> str:
        # The whole file must parse as botocore parses it, not only our section.
        return common.checked_edit(files.config_path, marks.write, text, section, marks.CONFIGURED, values)

    common.update_ini(files.config_path, edit)
    written = ", ".join(k for k, v in values.items() if v is not None)
    print(f"Wrote into [{section}] of {files.config_path}: {written}")
    print(f"credential_process = {process}")
    if settings.profile in files.credentials:
        fix = (
            f"remove it with: terraform-session-token clear -p {settings.profile}"
            if files.is_managed(settings.profile)
            else f"remove [{settings.profile}] from {files.credentials_path} by hand, or configure another -p"
        )
        print(f"Note: the credentials file also has [{settings.profile}]; AWS tools use its keys first: {fix}")
    print(f'Terraform: provider "aws" {{ profile = "{settings.profile}" }}')
    return 0


def remove(args) -> int:
    """configure --remove: what configure wrote into the profile taken back, byte for byte."""
    from ..options import OPTIONS, given
    from ..profiles import AwsFiles, resolve

    others = [o.flags[0] for o in OPTIONS if o.dest != "profile" and given(args, o.dest) is not None]
    if others:
        raise UsageError(
            f"configure --remove takes only -p, not {', '.join(others)}", "e.g. configure --remove -p prod"
        )
    files = AwsFiles.load()
    settings = resolve(args, files)
    section = files.config_section(settings.profile)
    taken: list[str] = []
    layers = marks.read(files.config_text or "", section)

    def edit(text: str) -> str:
        text, keys = common.checked_edit(files.config_path, marks.take_back, text, section, marks.CONFIGURED)
        taken[:] = keys
        return text

    if marks.CONFIGURED in layers:
        common.update_ini(files.config_path, edit)
        what = ", ".join(taken) or "nothing"
        print(f"Took back what configure wrote into [{section}] of {files.config_path}: {what}")
    else:
        print(f"Nothing to remove: configure wrote nothing into [{section}] of {files.config_path}.")
    rest = []
    if marks.REMEMBERED in layers:
        rest.append("what runs remembered (" + ", ".join(layers[marks.REMEMBERED].keys) + ")")
    if files.is_managed(settings.profile):
        rest.append(f"a session in [{settings.profile}] of {files.credentials_path}")
    from .. import sessions

    if settings.profile in sessions.cached_names():
        rest.append("a cached session")
    if rest:
        print(f"Left: {'; '.join(rest)}. To sign out: terraform-session-token clear -p {settings.profile}")
    return 0
