"""configure: make a config profile get its credentials from this tool (credential_process)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys

from .. import inifile, storage
from ..errors import ConfigError, UsageError
from ..profiles import OWN_ROLE_KEY, OWN_SOURCE_KEY
from . import common


def add_arguments(parser) -> None:
    """configure stores the session options it is given in the profile."""


def tool_command() -> str:
    """How AWS readers should call this tool: an absolute path, so PATH does not matter."""
    found = shutil.which("terraform-session-token")
    path = os.path.abspath(found or sys.argv[0])
    return shlex.quote(path)


def _text(number) -> str | None:
    return None if number is None else str(number)


def run(args) -> int:
    files, settings = common.load(args)
    common.refuse_aws_style_target(settings, files)
    section = files.config_section(settings.profile)
    process = f"{tool_command()} credential-process -p {settings.profile}"
    values = {
        "credential_process": process,
        OWN_ROLE_KEY: getattr(args, "role", None),
        OWN_SOURCE_KEY: getattr(args, "source_profile", None),
        "mfa_serial": getattr(args, "serial", None),
        "duration_seconds": str(args.duration) if getattr(args, "duration", None) else None,
        "region": settings.region
        if settings.origins.get("region") == "flag" or not files.config_for(settings.profile).get("region")
        else None,
        "mfa_process": getattr(args, "mfa_process", None),
        "mfa_session": "true" if getattr(args, "mfa_session", False) else None,
        "mfa_session_duration": _text(getattr(args, "mfa_session_duration", None)),
        "session_refresh_margin": _text(getattr(args, "margin", None)),
        "role_session_name": getattr(args, "session_name", None),
        "external_id": getattr(args, "external_id", None),
    }
    values = {k: v for k, v in values.items() if v}
    for key, value in values.items():
        if value != value.strip() or any(c in value for c in "\r\n\x00"):
            raise UsageError(
                f"the value for {key} has a line break or white space at its ends",
                "a config file value is one line without surrounding spaces",
            )
    if "duration_seconds" in values:
        settings.duration = int(values["duration_seconds"])
        settings.effective_duration()

    def edit(text: str) -> str:
        try:
            inifile.parse(text)  # the whole file must parse as botocore parses it, not only our section
            return inifile.set_section(text, section, values)
        except inifile.IniSyntaxError as e:
            raise ConfigError(f"can't parse {files.config_path}: {e}", "fix it by hand; it was left untouched")

    storage.update_file(files.config_path, edit)
    print(f"[{section}] in {files.config_path} now has: credential_process = {process}")
    if settings.profile in files.credentials:
        print(
            f"Note: the credentials file also has [{settings.profile}]; AWS tools use those keys first. "
            f"Remove them with: terraform-session-token clear -p {settings.profile}"
        )
    print(f'Terraform: provider "aws" {{ profile = "{settings.profile}" }}')
    return 0
