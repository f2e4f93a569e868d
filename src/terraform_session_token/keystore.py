"""Long-term keys in the OS keyring: the only module that imports `keyring`.

keyring reaches macOS Keychain, Windows Credential Locker, the freedesktop Secret Service
(gnome-keyring, KeePassXC) and KWallet. It is an optional extra: the commands that need no
source keys never import it. Each profile's keys are one item (service
"terraform-session-token", user = the profile name) holding JSON; an index item lists the
profiles, since keyring can't enumerate.
"""

from __future__ import annotations

import json
import os

from .errors import ExtraMissing, KeyringError
from .sessions import format_time, utcnow

SERVICE = "terraform-session-token"
INDEX = "__profiles__"
INSTALL_HINT = (
    "install it: pipx inject terraform-session-token keyring, or pip install 'terraform-session-token[keyring]'"
)
HEADLESS_HINT = (
    "run a Secret Service in your session, such as gnome-keyring or KWallet; "
    "on a headless Linux box see docs/keyring.md"
)


class Keys:
    """A source profile's long-term access key."""

    def __init__(self, access_key_id: str, secret_access_key: str, stored: str = ""):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.stored = stored

    def masked(self) -> str:
        return mask(self.access_key_id)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Keys)
            and self.access_key_id == other.access_key_id
            and self.secret_access_key == other.secret_access_key
        )

    def __repr__(self) -> str:  # never the secret, not even in a traceback's repr
        return f"Keys({self.masked()})"


def mask(access_key_id: str) -> str:
    return access_key_id[:4] + "*" * 12 + access_key_id[-4:] if len(access_key_id) > 8 else "****"


LOCKED_HINT = "unlock it by logging in to the desktop session, or with gnome-keyring-daemon --unlock; then run again"
FILE_BACKENDS = ("keyrings.alt",)  # keep secrets in files (plaintext or a file of its own): not an OS store


def _keyring():
    """The keyring module with a usable backend, or KeyringError saying what to set up."""
    try:
        import keyring
        import keyring.backends.fail
        import keyring.errors
    except ImportError:
        raise ExtraMissing("the keyring package is not installed", INSTALL_HINT)
    backend = keyring.get_keyring()
    names = {type(b).__module__ for b in getattr(backend, "backends", [backend])}
    if not names or names <= {"keyring.backends.fail", "keyring.backends.null"}:
        raise KeyringError("no usable OS keyring was found", HEADLESS_HINT)
    first = getattr(backend, "backends", [backend])[0]  # the one that stores
    if type(first).__module__.startswith(FILE_BACKENDS) and not os.environ.get("PYTHON_KEYRING_BACKEND"):
        raise KeyringError(
            f"no usable OS keyring was found: only {type(first).__module__}.{type(first).__name__}, "
            "which keeps secrets in a file, not in an encrypted OS store",
            "run an OS keyring, or name that backend in PYTHON_KEYRING_BACKEND if you accept it; see docs/keyring.md",
        )
    return keyring


def _call(what: str, function, *args):
    keyring = _keyring()
    try:
        return function(keyring, *args)
    except keyring.errors.KeyringLocked:
        raise KeyringError(f"the OS keyring is locked, so it can't {what}", LOCKED_HINT)
    except keyring.errors.KeyringError as e:
        if "lock" in type(e).__name__.lower() or "unlock" in str(e).lower():
            raise KeyringError(f"the OS keyring is locked, so it can't {what}", LOCKED_HINT)
        raise KeyringError(f"the OS keyring refused to {what}: {type(e).__name__}", HEADLESS_HINT)
    except Exception as e:  # D-Bus and backend errors: their type only, never their arguments
        raise KeyringError(f"the OS keyring failed to {what}: {type(e).__name__}", HEADLESS_HINT)


def check_available() -> None:
    """KeyringError unless a usable backend is there (before anything is changed)."""
    _keyring()


def load(profile: str) -> Keys | None:
    from .storage import no_core_dumps

    no_core_dumps()
    text = _call("read the keys", lambda k: k.get_password(SERVICE, profile))
    if not text:
        return None
    try:
        data = json.loads(text)
        return Keys(data["AccessKeyId"], data["SecretAccessKey"], data.get("Stored", ""))
    except (ValueError, KeyError, TypeError):
        raise KeyringError(f"the keyring item for [{profile}] is not readable", f"store it again: keys add {profile}")


def store(profile: str, keys: Keys) -> None:
    """Store, read back and compare: only a verified copy counts as stored."""
    keys.stored = format_time(utcnow())
    document = {"AccessKeyId": keys.access_key_id, "SecretAccessKey": keys.secret_access_key, "Stored": keys.stored}
    _call("store the keys", lambda k: k.set_password(SERVICE, profile, json.dumps(document)))
    if load(profile) != keys:
        raise KeyringError(f"the keys read back from the keyring for [{profile}] differ", "try again")
    names = profiles()
    if profile not in names:
        _write_index(sorted(names + [profile]))


def delete(profile: str) -> bool:
    """Remove the profile's keys and its name from the index; whether there were keys.

    An item deleted behind the tool's back still leaves the index clean."""
    existed = load(profile) is not None
    if existed:
        _call("delete the keys", lambda k: k.delete_password(SERVICE, profile))
    names = profiles()
    if profile in names:
        _write_index([n for n in names if n != profile])
    return existed


def profiles() -> list[str]:
    text = _call("read the index", lambda k: k.get_password(SERVICE, INDEX))
    try:
        names = json.loads(text) if text else []
    except ValueError:
        names = []
    return [n for n in names if isinstance(n, str)]


def _write_index(names: list[str]) -> None:
    _call("update the index", lambda k: k.set_password(SERVICE, INDEX, json.dumps(names)))
