"""Hostile: thousands of managed sections (the speed is measured by benchmarks/run.py)."""

from __future__ import annotations

import json

from terraform_session_token.profiles import MARKER

SECTIONS = 10_000


def managed_section(n: int) -> str:
    return (
        f"[tf{n}]\n{MARKER}\naws_access_key_id = ASIA{n:016d}\naws_secret_access_key = s{n}\n"
        f"aws_session_token = t{n}\nexpiration = 2099-01-01T00:00:00Z\n"
    )


def test_status_and_clear_all_with_ten_thousand_sections(home):
    user = home.credentials.read_text()
    home.credentials.write_text(user + "".join("\n" + managed_section(n) for n in range(SECTIONS)))
    status = home.run("status", "--json", timeout=120)
    assert status.returncode == 0
    assert len(json.loads(status.stdout)) == SECTIONS
    cleared = home.run("clear", "--all", timeout=120)
    assert cleared.returncode == 0, cleared.stderr
    assert home.credentials.read_text() == user, "the user's part, byte for byte"
