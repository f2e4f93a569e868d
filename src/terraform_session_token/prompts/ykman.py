"""ykman: a YubiKey's OATH code (`ykman oath accounts code --single`), run like mfa_process:
its stdin and stderr are the terminal when there is one, for its touch and password prompts."""

from __future__ import annotations

TOUCH = "If your YubiKey flashes, touch it."


def argv(serial: str, account: str | None, device: str | None) -> list[str]:
    """ykman [--device SERIAL] oath accounts code --single QUERY; QUERY defaults to the MFA
    device's name (arn:aws:iam::123456789012:mfa/alice: alice)."""
    query = account or serial.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return ["ykman", *(["--device", device] if device else []), "oath", "accounts", "code", "--single", query]
