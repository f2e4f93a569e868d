"""keys: long-term source keys in the OS keyring instead of plaintext (import, add, list, rotate, remove)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .. import inifile
from ..errors import AwsError, ConfigError, CredentialsError, KeyringError, ToolError, UsageError
from ..profiles import DEFAULT_SOURCE, KEYRING_MARKER, AwsFiles, resolve
from ..sessions import utcnow
from .common import update_ini

MAX_AGE_DAYS = 90
# A new key takes seconds to work everywhere in AWS: retried after these delays, 25 s in all.
ACCEPT_DELAYS = (1, 1, 2, 2, 3, 3, 4, 4, 5)


def _name_arguments(parser, what: str, default: str | None = None) -> None:
    """The profile, as NAME or as --source-profile NAME (the same for every action)."""
    hint = f" (default: {default})" if default else ""
    parser.add_argument("name", metavar="NAME", nargs="?", default=None, help=f"{what}{hint}")
    parser.add_argument(
        "--source-profile", metavar="NAME", dest="source_profile", default=argparse.SUPPRESS, help="the same as NAME"
    )
    parser.set_defaults(default_name=default)


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="keys_command", metavar="action")
    imp = sub.add_parser(
        "import",
        help="move a profile's keys from the credentials file into the OS keyring",
        description="Move the two key lines of a credentials-file profile into the OS keyring.",
    )
    _name_arguments(imp, "the profile whose keys to move", DEFAULT_SOURCE)
    add = sub.add_parser("add", help="store keys for a profile (asked on the terminal, or JSON on stdin)")
    _name_arguments(add, "the source profile the keys are for")
    add.add_argument("--json", action="store_true", help='read {"AccessKeyId": ..., "SecretAccessKey": ...} from stdin')
    lst = sub.add_parser("list", help="profiles whose keys are in the keyring")
    lst.add_argument("--check", action="store_true", help="ask IAM how old each key is")
    rot = sub.add_parser("rotate", help="replace a stored key with a new one (IAM), then delete the old one")
    _name_arguments(rot, "the profile", DEFAULT_SOURCE)
    rem = sub.add_parser(
        "remove",
        help="delete a profile's keys from the keyring: often the only copy of the key (keys export it first)",
        description="Delete a profile's keys from the OS keyring. Unless the credentials file holds the same "
        "key, this destroys the only copy of its secret (IAM never shows a secret again): "
        "run 'keys export NAME' first, or create a new key in IAM. Asks for confirmation at a terminal.",
    )
    _name_arguments(rem, "the profile whose keys to delete")
    rem.add_argument("--yes", action="store_true", help="delete without asking (no terminal: required)")
    exp = sub.add_parser(
        "export", help="write a profile's keys from the keyring back into the credentials file (plaintext)"
    )
    _name_arguments(exp, "the profile whose keys to write back")
    for p in (lst, rot):
        p.add_argument("--region", metavar="REGION", default=argparse.SUPPRESS, help="region for the IAM/STS calls")
        p.add_argument(
            "--endpoint-url", metavar="URL", default=argparse.SUPPRESS, help="IAM/STS endpoint (e.g. a local AWS)"
        )
        p.add_argument("--ca-bundle", metavar="PATH", default=argparse.SUPPRESS, help="CA bundle for TLS verification")


def _profile_name(args) -> str:
    """NAME or --source-profile NAME (both: the same), else the action's default; checked."""
    given = [n for n in (getattr(args, "name", None), getattr(args, "source_profile", None)) if n]
    if len(set(given)) > 1:
        raise UsageError(f"two profiles given: {given[0]} and --source-profile {given[1]}", "give one")
    name = given[0] if given else getattr(args, "default_name", None)
    if not name:
        raise UsageError(f"keys {args.keys_command} needs a profile name", f"e.g. keys {args.keys_command} NAME")
    _check_name(name)
    return name


def run(args) -> int:
    if not getattr(args, "keys_command", None):
        raise UsageError(
            "keys needs an action: import, add, list, rotate, remove or export",
            "e.g. terraform-session-token keys list",
        )
    actions = {"import": import_keys, "add": add_keys, "list": list_keys, "rotate": rotate, "remove": remove}
    return {**actions, "export": export}[args.keys_command](args)


def _check_name(name: str) -> None:
    from ..keystore import INDEX

    try:
        inifile.check_profile_name(name)
    except ValueError as e:
        raise UsageError(str(e), "choose another profile name")
    if name == INDEX:
        raise UsageError(f"the name {name} is the tool's own keyring item", "rename the profile")


def _mark_in_keyring(files: AwsFiles, name: str, expected_key_id: str | None, in_config: bool = False) -> None:
    """Remove the two key lines from the profile's section (of the credentials file, or of the config
    file when the keys were there) and leave the marker; nothing else changes."""
    path = files.config_path if in_config else files.credentials_path
    section = files.config_section(name) if in_config else name

    def edit(text: str) -> str:
        try:
            values = inifile.section_values(text, section)
        except inifile.IniSyntaxError as e:
            raise ConfigError(f"can't parse {path}: {e}", "fix it by hand; it was left untouched")
        if expected_key_id is not None and (values or {}).get("aws_access_key_id") != expected_key_id:
            raise ConfigError(
                f"[{section}] in {path} changed while its keys were being stored", "run keys import again"
            )
        return inifile.set_section(
            text, section, {"aws_access_key_id": None, "aws_secret_access_key": None}, marker=KEYRING_MARKER
        )

    update_ini(path, edit)


def import_keys(args) -> int:
    from .. import keystore

    name = _profile_name(args)
    files = AwsFiles.load()
    values = files.credentials.get(name)
    in_config = False
    if not (values or {}).get("aws_secret_access_key") and files.config_for(name).get("aws_secret_access_key"):
        values, in_config = files.config_for(name), True  # botocore reads keys from the config file too
    if values is None:
        raise CredentialsError(f"profile [{name}] not found in {files.credentials_path}", "check the name")
    if values.get("aws_session_token"):
        raise UsageError(
            f"[{name}] holds a session, not long-term keys", "import the profile with the long-term keys instead"
        )
    if not (values.get("aws_access_key_id") and values.get("aws_secret_access_key")):
        if files.keys_in_keyring(name):
            print(f"The keys of [{name}] are already in the OS keyring.")
            return 0
        raise CredentialsError(f"[{name}] has no access key id and secret", "nothing to import")
    keys = keystore.Keys(values["aws_access_key_id"].strip(), values["aws_secret_access_key"].strip())
    held = keystore.load(name)
    if held is not None and held != keys:
        # A restored backup brings an old key back into the file: the keyring's may be the working one.
        raise UsageError(
            f"the OS keyring already holds the key {held.masked()} for [{name}], and the file holds "
            f"{keys.masked()}; importing would overwrite the keyring's",
            f"to keep the keyring's, delete the two key lines from [{name}]; to keep the file's: "
            f"terraform-session-token keys remove {name} --yes, then keys import again",
        )
    keystore.store(name, keys)  # read back and compared before the file is touched
    _mark_in_keyring(files, name, values["aws_access_key_id"], in_config)
    where = files.config_path if in_config else files.credentials_path
    print(f"Moved the keys of [{name}] ({keys.masked()}) into the OS keyring.")
    print(f"Removed aws_access_key_id and aws_secret_access_key from [{name}] in {where}.")
    return 0


def _read_keys_from_terminal():
    import getpass

    from .. import keystore

    try:
        key_id = input("AWS access key id: ").strip()  # shown as typed, as aws configure does: it is no secret
        secret = getpass.getpass("AWS secret access key (not shown): ").strip()
    except EOFError:
        raise UsageError("input ended before the keys were given", "type them, or pipe JSON with --json")
    return keystore.Keys(key_id, secret)


def _read_keys_from_json():
    from .. import keystore

    try:
        data = json.loads(sys.stdin.read())
        keys = keystore.Keys(str(data["AccessKeyId"]).strip(), str(data["SecretAccessKey"]).strip())
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(
            "standard input is not a JSON object with AccessKeyId and SecretAccessKey",
            'pipe {"AccessKeyId": "AKIA...", "SecretAccessKey": "..."}',
        )
    return keys


def add_keys(args) -> int:
    from .. import keystore

    name = _profile_name(args)
    files = AwsFiles.load()
    if files.plaintext_keys(name):
        raise UsageError(
            f"[{name}] already has keys in plaintext in {files.credentials_path}",
            f"move those instead: keys import {name}",
        )
    if name in files.credentials and files.credentials[name].get("aws_session_token"):
        raise UsageError(f"[{name}] holds a session", "choose the name of a source profile")
    keystore.check_available()
    if not args.json and not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the keys on", "pipe them as JSON with --json")
    keys = _read_keys_from_json() if args.json else _read_keys_from_terminal()
    if (
        not keys.access_key_id.isalnum()
        or not keys.secret_access_key
        or any(c.isspace() for c in keys.secret_access_key)
    ):
        raise UsageError("that is not an AWS access key id and secret", "copy them from the IAM console")
    keystore.store(name, keys)
    _mark_in_keyring(files, name, None)
    print(f"Stored the keys of [{name}] ({keys.masked()}) in the OS keyring.")
    return 0


def _aws_for(args, name: str, keys):
    from ..aws import Connection

    files = AwsFiles.load()
    namespace = argparse.Namespace(
        profile=f"{name}-keys",
        source_profile=name,
        region=getattr(args, "region", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        ca_bundle=getattr(args, "ca_bundle", None),
    )
    settings = resolve(namespace, files)
    return Connection(settings, files.has_profile(name), keys)


def list_keys(args) -> int:
    from .. import keystore

    names = keystore.profiles()
    if not names:
        print("No keys in the OS keyring.")
        return 0
    old = 0
    for name in names:
        keys = keystore.load(name)
        if keys is None:
            print(f"{name}  (listed, but its item is missing: keys remove {name})")
            continue
        age = ""
        if args.check:
            try:
                created = _aws_for(args, name, keys).iam.access_key_created(keys.access_key_id)
            except ToolError as e:
                age = f"  age unknown: {e.message}"
            else:
                days = int((utcnow() - created).total_seconds() // 86400) if created else None
                age = f"  {days} days old" if days is not None else "  not listed by IAM"
                if days is not None and days > MAX_AGE_DAYS:
                    old += 1
                    age += f" - older than {MAX_AGE_DAYS} days: keys rotate {name}"
        print(f"{name}  {keys.masked()}  stored {keys.stored or '?'}{age}")
    if old:
        print(f"warning: {old} key(s) older than {MAX_AGE_DAYS} days", file=sys.stderr)
    return 0


def rotate(args) -> int:
    """Create, wait until accepted, store, delete the old: at every step one working key is stored,
    and a new key that ends up stored nowhere is deleted again (also on Ctrl-C)."""
    from .. import keystore

    name = _profile_name(args)
    old = keystore.load(name)
    if old is None:
        raise KeyringError(f"no keys for [{name}] in the OS keyring", f"keys import {name} first")
    aws = _aws_for(args, name, old)
    try:
        new = aws.iam.create_access_key()
    except ToolError as e:
        raise type(e)(f"could not create a new key: {e.message}; the old key {old.masked()} is still stored", e.hint)
    print(f"Created {new.masked()}; waiting until AWS accepts it")
    try:
        if not _accepted(aws, new):
            raise AwsError(
                f"AWS did not accept the new key {new.masked()} in time; the old key {old.masked()} is still stored",
                "run keys rotate again later",
            )
        _store_replacing(name, new, old)
    except ToolError as e:
        deleted = _discard(aws, new, old)
        raise type(e)(f"{e.message}; {deleted}", e.hint) from None
    except BaseException:  # Ctrl-C while waiting: the new key is held by nobody
        _discard(aws, new, old)
        raise
    print(f"Stored {new.masked()} for [{name}] in the OS keyring")
    try:
        aws.iam.delete_access_key(old.access_key_id, new)
    except ToolError as e:
        raise AwsError(
            f"the new key {new.masked()} is stored and works, but deleting the old key {old.masked()} "
            f"failed: {e.message}",
            f"delete it in IAM: aws iam delete-access-key --access-key-id {old.access_key_id}",
        )
    print(f"Deleted the old key {old.masked()} in IAM")
    return 0


def _store_replacing(name: str, new, old) -> None:
    """Store `new` in place of `old`, or leave `old` stored and say so. Some backends (macOS's
    Keychain) replace an item by deleting it and adding the new one: when the add fails, the
    keyring holds nothing, so the old key, still in memory, is put back (or, failing that,
    written to the credentials file rather than lost)."""
    from .. import keystore

    try:
        keystore.store(name, new)
        return
    except KeyringError as e:
        failure = e
    try:
        current = keystore.load(name)
    except KeyringError:
        current = None
    if current == new:
        return  # stored after all
    if current == old:
        raise KeyringError(f"{failure.message}; the old key {old.masked()} is still stored", failure.hint)
    try:
        keystore.store(name, old)
    except KeyringError:
        files = AwsFiles.load()
        _write_keys_to_file(files, name, old)
        raise KeyringError(
            f"{failure.message}, and the keyring lost the old key {old.masked()} while replacing it; "
            f"it was written to [{name}] in {files.credentials_path} so that it is not lost",
            f"move it back when the keyring works: terraform-session-token keys import {name}",
        )
    raise KeyringError(
        f"{failure.message}; the keyring dropped the old key {old.masked()} while replacing it, "
        "and it was stored again",
        failure.hint,
    )


def _accepted(aws, keys) -> bool:
    for delay in (0, *ACCEPT_DELAYS):
        time.sleep(delay)
        try:
            aws.sts.caller_identity(keys, attempts=1)
            return True
        except CredentialsError:
            continue
    return False


def _discard(aws, new, old) -> str:
    """The new key, stored nowhere, deleted in IAM with the old one's signature; what happened, in words."""
    try:
        aws.iam.delete_access_key(new.access_key_id, old)
        return f"the new key {new.masked()} was deleted in IAM"
    except BaseException:
        line = (
            f"the new key {new.access_key_id} could not be deleted in IAM and nobody holds it: "
            f"delete it with: aws iam delete-access-key --access-key-id {new.access_key_id}"
        )
        print(f"terraform-session-token: warning: {line}", file=sys.stderr)
        return line


def _confirm_removal(name: str, keys, args) -> None:
    """The keyring may hold the only copy of the secret: ask at a terminal; without one, --yes."""
    if getattr(args, "yes", False):
        return
    from ..prompts.terminal import Prompter

    prompter = Prompter(use_tty=True)
    try:
        if not prompter.available:
            raise UsageError(
                f"keys remove would destroy the only copy of the key {keys.masked()} of [{name}]",
                f"keep a copy first with keys export {name}, then pass --yes",
            )
        prompter.say(
            f"The OS keyring holds the only copy of the key {keys.masked()} of [{name}]; IAM never shows a "
            f"secret again. To keep a copy first: terraform-session-token keys export {name}"
        )
        answer = prompter.ask(f"Type {name} to delete it: ")
    finally:
        prompter.close()
    if (answer or "").strip() != name:
        raise UsageError(f"the keys of [{name}] were not deleted", "nothing was changed")


def remove(args) -> int:
    from .. import keystore

    name = _profile_name(args)
    files = AwsFiles.load()
    keys = keystore.load(name)
    in_file = files.credentials.get(name, {}).get("aws_access_key_id")
    if keys is not None and in_file != keys.access_key_id:
        _confirm_removal(name, keys, args)
    existed = keystore.delete(name)
    emptied: list[str] = []
    for path, section in ((files.credentials_path, name), (files.config_path, files.config_section(name))):

        def edit(text: str, path: str = path, section: str = section) -> str:
            if not inifile.has_line(text, section, KEYRING_MARKER):
                return text
            text = inifile.remove_line(text, section, KEYRING_MARKER)
            if not inifile.has_only_header(text, section):
                return text
            emptied.append(f"[{section}] of {path}")  # it held only the keys: nothing is left to keep
            return inifile.remove_sections(text, [section])

        if section in inifile.sections_with_line(_text_of(path, files), KEYRING_MARKER):
            update_ini(path, edit)
    print(f"Removed the keys of [{name}] from the OS keyring." if existed else f"No keys for [{name}] in the keyring.")
    for where in emptied:
        print(f"Removed {where}: it held nothing but the keys.")
    return 0


def _text_of(path: str, files: AwsFiles) -> str:
    return (files.credentials_text if path == files.credentials_path else files.config_text) or ""


def _write_keys_to_file(files: AwsFiles, name: str, keys) -> None:
    """The keys into [name] of the credentials file, in place of the keyring marker line."""

    def edit(text: str) -> str:
        try:
            values = inifile.section_values(text, name)
        except inifile.IniSyntaxError as e:
            raise ConfigError(f"can't parse {files.credentials_path}: {e}", "fix it by hand; it was left untouched")
        if values and values.get("aws_session_token"):
            raise UsageError(f"[{name}] in the credentials file holds a session", "export into a source profile")
        text = inifile.remove_line(text, name, KEYRING_MARKER)
        pair = {"aws_access_key_id": keys.access_key_id, "aws_secret_access_key": keys.secret_access_key}
        return inifile.set_section(text, name, pair)

    update_ini(files.credentials_path, edit)


def export(args) -> int:
    """The way out of the keyring: the keys back into [NAME] of the credentials file, in place of
    the marker line; the keyring keeps its copy until keys remove."""
    from .. import keystore

    name = _profile_name(args)
    keys = keystore.load(name)
    if keys is None:
        raise KeyringError(f"no keys for [{name}] in the OS keyring", "see: terraform-session-token keys list")
    files = AwsFiles.load()
    _write_keys_to_file(files, name, keys)
    print(
        f"Wrote the key {keys.masked()} of [{name}] into {files.credentials_path} (plaintext, mode 0600). "
        f"The keyring keeps its copy: terraform-session-token keys remove {name} deletes it."
    )
    return 0
