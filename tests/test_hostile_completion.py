"""Shell completion with profile names that are shell code: real bash and zsh (at a terminal) never run them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time

import pytest
from conftest import bash_complete

HOSTILE = "[$(touch${IFS}PWNED)]\naws_access_key_id = x\n[$(touch PWNED2)]\nregion = x\n[`touch PWNED3`]\nregion = x\n"


def hostile_home(home):
    home.credentials.write_text(home.credentials.read_text() + HOSTILE)
    home.config.write_text("[profile staging]\nregion = us-east-1\n")


def test_list_profiles_gives_only_names_the_tool_accepts(home):
    hostile_home(home)
    names = home.run("completion", "--list-profiles").stdout.split("\n")
    assert "default" in names and "staging" in names
    assert not any("$" in n or "`" in n or " " in n for n in names)


def test_bash_completion_runs_no_profile_name(home, tmp_path):
    hostile_home(home)
    script = home.root / "tst.bash"
    script.write_text(home.run("completion", "bash").stdout)
    offered = bash_complete(home, script, ["terraform-session-token", "exec", "--source-profile", ""], cwd=tmp_path)
    assert {"default", "staging"} <= set(offered), offered
    offered = bash_complete(home, script, ["terraform-session-token", "exec", "-p", ""], cwd=tmp_path)
    assert offered == ["staging"], "-p offers no source profile: [default] holds the keys"
    assert not list(tmp_path.glob("PWNED*"))


def test_zsh_completion_at_a_terminal_runs_no_profile_name(home, tmp_path):
    if shutil.which("zsh") is None or shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("zsh or tmux missing in CI: scripts/setup installs them")
        pytest.skip("zsh and tmux are not installed")
    hostile_home(home)
    functions = tmp_path / "functions"
    functions.mkdir()
    (functions / "_terraform-session-token").write_text(home.run("completion", "zsh").stdout)
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in home.env.items() if k in ("HOME", "PATH", "AWS_CONFIG_FILE"))
    session = f"tst-zsh-{os.getpid()}"
    socket = str(tmp_path / "tmux.sock")
    tmux = ["tmux", "-S", socket]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", session, "-x", "160", "-y", "20",
         f"cd {shlex.quote(str(tmp_path))} && env -i TERM=xterm {env} zsh -f"],
        check=True,
    )  # fmt: skip

    def send(*keys: str) -> None:
        subprocess.run([*tmux, "send-keys", "-t", session, *keys], check=True)

    def screen_until(seen, timeout: float = 30) -> str:
        """The screen once `seen(screen)` holds; fails after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if seen(screen) or time.monotonic() > deadline:
                return screen
            time.sleep(0.05)

    try:
        assert screen_until(str.strip), "zsh showed no prompt"
        # The line zsh prints once compinit is done (the typed command shows the expression, not its value).
        send(f"fpath=({functions} $fpath); autoload -Uz compinit; compinit -u -D; print compinit-$((6 * 7))", "Enter")
        screen = screen_until(lambda screen: "compinit-42" in screen.splitlines())
        assert "compinit-42" in screen.splitlines(), screen
        send("terraform-session-token exec --source-profile ", "Tab", "Tab")
        screen = screen_until(lambda screen: "staging" in screen)
        assert "staging" in screen and "default" in screen, screen
        assert not list(tmp_path.glob("PWNED*"))
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
