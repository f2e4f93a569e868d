"""The MFA prompt drivers with real programs: zenity on a private Xvfb display typed into by
xdotool, real Terraform started with no terminal, and stand-ins for the programs that can't run
here (ykman without a YubiKey, kdialog without KDE, osascript without macOS) that check how they
are called. Every caller here has no controlling terminal unless a test gives it a pty."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import termios
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import TOOL, assert_one_line_failure, read_until

from local_aws import ACCOUNT, terraform

DIALOG = "^terraform-session-token$"  # the dialog's title, which names the tool


def logged(tmp_path: Path, program: str, real: str | None = None, body: str | None = None) -> tuple[str, Path]:
    """A directory holding `program`, which logs its arguments (one per line, then '--') and then
    runs the real one, or `body` (a stand-in for a program that can't run here)."""
    directory = tmp_path / f"bin-{program}"
    directory.mkdir(exist_ok=True)
    log = tmp_path / f"{program}.log"
    record = f'for a in "$@"; do printf "%s\\n" "$a"; done >> "{log}"; echo -- >> "{log}"\n'
    script = directory / program
    errors = tmp_path / f"{program}.stderr"
    script.write_text("#!/bin/sh\n" + record + (f'exec {real} "$@" 2>>"{errors}"\n' if real else body))
    script.chmod(0o755)
    return str(directory), log


def calls(log: Path) -> list[list[str]]:
    """The argument lists a logged program was called with."""
    if not log.exists():
        return []
    found, current = [], []
    for line in log.read_text().splitlines():
        if line == "--":
            found.append(current)
            current = []
        else:
            current.append(line)
    return found


def dialog_env(home, display, bindir: str, **extra) -> dict[str, str]:
    return {**home.env, "DISPLAY": display.name, "PATH": f"{bindir}{os.pathsep}{home.env['PATH']}", **extra}


def detached(argv, env, cwd=None) -> subprocess.Popen:
    """Started the way an IDE or a desktop launcher starts Terraform: no controlling terminal."""
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def answer_dialog(display, code) -> None:
    """Type `code()` into the dialog once it is shown (a code taken earlier may be stale by then),
    press Enter, and wait until the dialog is gone."""
    window = display.window(DIALOG, timeout=180)  # Terraform's init may take a while before it asks
    display.type(window, code())
    display.press(window, "Return")
    display.wait_gone(DIALOG)


def cancel_dialog(display) -> None:
    """Press Escape in the dialog and wait until it is gone."""
    window = display.window(DIALOG)
    display.press(window, "Escape")
    display.wait_gone(DIALOG)


def wait_until_waiting_on(procs, lock: Path, timeout: float = 30) -> None:
    """Until every process has the lock file open: all are in line for the one prompt."""
    deadline = time.monotonic() + timeout
    while True:
        holding = 0
        for proc in procs:
            try:
                fds = os.listdir(f"/proc/{proc.pid}/fd")
                holding += any(os.readlink(f"/proc/{proc.pid}/fd/{fd}") == str(lock) for fd in fds)
            except OSError:
                pass
        if holding == len(procs):
            return
        assert time.monotonic() < deadline, f"{holding} of {len(procs)} callers reached the lock"
        time.sleep(0.05)


def role_profile(home, name: str, *lines: str) -> None:
    text = home.config.read_text() if home.config.exists() else ""
    home.config.write_text(
        text + f"[profile {name}]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/TerraformRole\n"
        f"mfa_serial = {home.identity.serial}\n" + "".join(f"{line}\n" for line in lines)
    )


def test_credential_process_with_no_terminal_asks_in_a_zenity_dialog(home, local_aws, display, tmp_path):
    bindir, log = logged(tmp_path, "zenity", real="/usr/bin/zenity")
    role_profile(home, "ide")
    proc = detached([TOOL, "credential-process", "-p", "ide"], dialog_env(home, display, bindir))
    answer_dialog(display, home.code)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["AccessKeyId"].startswith("ASIA")
    [argv] = calls(log)
    text = f"MFA code for {home.identity.serial} (profile ide, role TerraformRole in {ACCOUNT})"
    assert f"--text={text}" in argv and "--title=terraform-session-token" in argv and "--entry" in argv
    # It closes itself before the AWS SDK's patience (60 s) runs out: credential-process waits 50 s at most.
    timeout = next(int(a.split("=")[1]) for a in argv if a.startswith("--timeout="))
    assert 40 <= timeout <= 50
    assert "Gtk" not in err and "zenity" not in err


def test_cancelling_the_dialog_fails_every_parallel_caller_at_once_with_one_line(home, local_aws, display, tmp_path):
    bindir, log = logged(tmp_path, "zenity", real="/usr/bin/zenity")
    role_profile(home, "dlg")
    before = (home.credentials.read_bytes(), home.config.read_bytes())
    local_aws.reset_requests()
    env = dialog_env(home, display, bindir)
    procs = [detached([TOOL, "credential-process", "-p", "dlg"], env) for _ in range(4)]
    window = display.window(DIALOG)
    wait_until_waiting_on(procs, home.cache / "dlg.lock")
    display.press(window, "Escape")
    cancelled = time.monotonic()
    results = [proc.communicate(timeout=60) for proc in procs]
    took = time.monotonic() - cancelled
    display.wait_gone(DIALOG)
    assert [p.returncode for p in procs] == [130] * 4, results
    lines = {err for _, err in results}
    assert len(lines) == 1, lines  # the same line for all
    line = lines.pop()
    assert line.startswith("terraform-session-token: error: the zenity dialog asking for the MFA code was cancelled")
    assert line.endswith("; nothing was written\n")
    assert all(out == "" for out, _ in results)
    # Not a dialog each in turn, 40 s or more apiece: the time allows for a loaded machine.
    assert took < 20, f"the waiting callers took {took:.1f} s to give up"
    assert len(calls(log)) == 1, "one dialog, not one per caller in turn"
    assert (home.credentials.read_bytes(), home.config.read_bytes()) == before
    assert not (home.cache / "dlg.json").exists()
    assert "AssumeRole" not in local_aws.actions()
    # A run started after the cancel asks again.
    again = detached([TOOL, "credential-process", "-p", "dlg"], env)
    answer_dialog(display, home.code)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert len(calls(log)) == 2


def test_an_unanswered_dialog_closes_itself_before_the_deadline(home, local_aws, display, tmp_path):
    bindir, log = logged(tmp_path, "zenity", real="/usr/bin/zenity")
    role_profile(home, "slow")
    start = time.monotonic()
    result = subprocess.run(
        [TOOL, "credential-process", "-p", "slow", "--timeout", "3"],
        env=dialog_env(home, display, bindir),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        timeout=60,
    )
    took = time.monotonic() - start
    assert_one_line_failure(result, 6, "no MFA code was typed into the zenity dialog within")
    # 3 s, plus the start of a Python and of a GTK program on a loaded machine; not the default 50 s.
    assert took < 30
    assert len(calls(log)) == 1
    display.wait_gone(DIALOG)  # no dialog is left open


@pytest.mark.parametrize("version", ["latest"])
def test_terraform_without_terminal_asks_once_in_a_dialog_for_four_remote_states(
    home, local_aws, display, tmp_path, version
):
    bindir, log = logged(tmp_path, "zenity", real="/usr/bin/zenity")
    result = home.run("configure", "-p", "tf", "--role", "TerraformRole", "--serial", home.identity.serial)
    assert result.returncode == 0, result.stderr
    stack = terraform.prepare(local_aws, tmp_path / "stack", version, "tf", "dialog/terraform.tfstate", 4)
    env = terraform.environment(dialog_env(home, display, bindir), tmp_path)
    local_aws.reset_requests()
    prefix = terraform.command(version)
    init = detached([*prefix, "init", "-no-color"], env, cwd=stack)
    with ThreadPoolExecutor(1) as typist:
        answered = typist.submit(answer_dialog, display, home.code)
        out, err = init.communicate(timeout=300)
        assert init.returncode == 0, out + err
        answered.result(timeout=60)
    apply = subprocess.run(
        [*prefix, "apply", "-auto-approve", "-no-color"],
        cwd=stack,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        timeout=300,
    )
    assert apply.returncode == 0, apply.stdout + apply.stderr
    for name in ("vpc_id", "vpc_id_network_2", "vpc_id_network_3", "vpc_id_network_4"):
        assert f'{name} = "vpc-0123456789abcdef0"' in apply.stdout
    assert len(calls(log)) == 1, "one dialog for the whole run"
    actions = local_aws.actions()
    assert actions.count("AssumeRole") == 1, actions
    data = [r for r in local_aws.requests() if r["service"] in ("s3", "dynamodb")]
    assert data and all(r["key"].startswith("ASIA") for r in data)


def _pty_caller(argv, env):
    """argv with a new pty as its controlling terminal, stdin and stderr; stdout a pipe (the SDK's)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    return proc, master


STAND_IN_TERMINAL_CHECK = (
    '[ -t 0 ] && [ -t 2 ] || { echo "stdin and stderr are not the terminal" >&2; exit 3; }\n'
    'echo "Touch your YubiKey..." >&2\n'
)


@pytest.mark.parametrize("how", ["ykman", "mfa_process"])
def test_a_code_command_talks_to_the_terminal_under_credential_process(home, local_aws, tmp_path, how):
    code_file = tmp_path / "code"
    body = STAND_IN_TERMINAL_CHECK + f'cat "{code_file}"\n'
    bindir, log = logged(tmp_path, "ykman", body=body)
    if how == "ykman":
        role_profile(home, "yk", "mfa_prompt = ykman", "ykman_device = 7654321")
    else:
        role_profile(home, "yk", f"mfa_process = {bindir}/ykman oath accounts code --single aws")
    code_file.write_text(home.code() + "\n")
    env = {**home.env, "PATH": f"{bindir}{os.pathsep}{home.env['PATH']}"}
    proc, master = _pty_caller([TOOL, "credential-process", "-p", "yk"], env)
    shown = read_until(master, b"Touch your YubiKey")
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, shown
    assert json.loads(out)["AccessKeyId"].startswith("ASIA")
    device = home.identity.serial.rsplit("/", 1)[1]  # the query defaults to the MFA device's name
    expected = ["--device", "7654321", "oath", "accounts", "code", "--single", device]
    assert calls(log) == [expected if how == "ykman" else ["oath", "accounts", "code", "--single", "aws"]]


def test_ykman_account_and_failures_are_one_line(home, local_aws, tmp_path):
    bindir, log = logged(tmp_path, "ykman", body='echo "Error: No YubiKey detected!" >&2; exit 2\n')
    role_profile(home, "yk", "mfa_prompt = ykman", "ykman_oath_account = AWS:alice")
    env = {**home.env, "PATH": f"{bindir}{os.pathsep}{home.env['PATH']}"}
    result = home.run("credential-process", "-p", "yk", env=env)
    assert_one_line_failure(
        result,
        6,
        "ykman failed with exit code 2: Error: No YubiKey detected!",
        "ykman oath accounts code --single AWS:alice",
    )
    assert calls(log) == [["oath", "accounts", "code", "--single", "AWS:alice"]]
    missing = home.run("credential-process", "-p", "yk", env={"PATH": "/usr/bin:/bin"})
    assert_one_line_failure(missing, 6, "ykman can't run: ykman is not installed")


def test_kdialog_is_given_the_title_and_the_text(home, local_aws, tmp_path, display):
    """A kdialog stand-in on a display that answers (a dialog is never tried on one that doesn't)."""
    code_file = tmp_path / "code"
    bindir, log = logged(tmp_path, "kdialog", body=f'cat "{code_file}"\n')
    role_profile(home, "kd", "mfa_prompt = kdialog")
    code_file.write_text(home.code() + "\n")
    result = subprocess.run(
        [TOOL, "credential-process", "-p", "kd"],
        env={**home.env, "PATH": f"{bindir}{os.pathsep}{home.env['PATH']}", "DISPLAY": display.name},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stderr
    text = f"MFA code for {home.identity.serial} (profile kd, role TerraformRole in {ACCOUNT})"
    assert calls(log) == [["--title", "terraform-session-token", "--inputbox", text, ""]]


@pytest.mark.parametrize("answer", ["code", "cancel"])
def test_osascript_gets_the_text_as_an_argument_not_as_script(home, local_aws, tmp_path, answer):
    code_file = tmp_path / "code"
    cancel = 'echo "execution error: User canceled. (-128)" >&2; exit 1\n'
    body = f'cat "{code_file}"\n' if answer == "code" else cancel
    bindir, log = logged(tmp_path, "osascript", body=body)
    role_profile(home, "mac", "mfa_prompt = osascript")
    code_file.write_text(home.code() + "\n")
    result = subprocess.run(
        [TOOL, "credential-process", "-p", "mac"],
        env={**home.env, "PATH": f"{bindir}{os.pathsep}{home.env['PATH']}"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert len(calls(log)) == 1, result.stderr
    [argv] = calls(log)
    text = f"MFA code for {home.identity.serial} (profile mac, role TerraformRole in {ACCOUNT})"
    assert argv[-3:-1] == [text, "terraform-session-token"] and 40 <= int(argv[-1]) <= 50
    script = [argv[i + 1] for i, a in enumerate(argv[:-3]) if a == "-e"]
    assert all(text not in line for line in script)
    assert any("giving up after (item 3 of argv" in line for line in script)
    if answer == "code":
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["Version"] == 1
    else:
        assert_one_line_failure(result, 130, "the osascript dialog asking for the MFA code was cancelled")


HOSTILE_SERIAL = f'arn:aws:iam::{ACCOUNT}:mfa/it"s<b>&amp;" & display dialog "x'


@pytest.mark.parametrize("program", ["zenity", "osascript"])
def test_dialog_text_that_looks_like_markup_or_script_is_shown_as_typed(home, local_aws, display, tmp_path, program):
    """The device name is the user's text: zenity must not read it as Pango markup, and AppleScript
    must get it as an argument, where nothing in it can end a string literal."""
    if program == "zenity":
        bindir, log = logged(tmp_path, "zenity", real="/usr/bin/zenity")
    else:
        bindir, log = logged(tmp_path, "osascript", body='echo "execution error: User canceled. (-128)" >&2; exit 1\n')
    home.config.write_text(
        f"[profile odd]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/TerraformRole\nmfa_serial = {HOSTILE_SERIAL}\n"
        f"mfa_prompt = {program}\n"
    )
    proc = detached([TOOL, "credential-process", "-p", "odd"], dialog_env(home, display, bindir))
    if program == "zenity":
        cancel_dialog(display)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    [argv] = calls(log)
    text = f"MFA code for {HOSTILE_SERIAL} (profile odd, role TerraformRole in {ACCOUNT})"
    if program == "zenity":
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert f"--text={escaped}" in argv
        assert "markup" not in (tmp_path / "zenity.stderr").read_text().lower()
    else:
        assert argv[-3] == text
        assert all(HOSTILE_SERIAL not in a for a in argv[:-3])


def test_doctor_names_the_driver_auto_picks_and_why(home, local_aws, display, tmp_path):
    role_profile(home, "doc")
    bindir, _ = logged(tmp_path, "zenity", real="/usr/bin/zenity")

    def doctor(env):
        return subprocess.run(
            [TOOL, "doctor", "--offline", "-p", "doc"],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        ).stdout

    with_display = doctor(dialog_env(home, display, bindir))
    picks = "MFA prompt: auto picks zenity now, because there is no terminal, but there is a display"
    assert f"{picks} (DISPLAY={display.name})" in with_display
    without = doctor(home.env)
    assert "MFA prompt: auto has nothing to ask with now: there is no terminal to ask on and no display" in without
    forced = doctor({**home.env, "TERRAFORM_SESSION_TOKEN_PROMPT": "kdialog", "PATH": "/usr/bin:/bin"})
    assert "MFA prompt: kdialog (from TERRAFORM_SESSION_TOKEN_PROMPT), but kdialog is not installed" in forced


def test_ctrl_c_at_the_terminal_prompt_is_remembered_for_the_callers_waiting_behind_it(home, local_aws, tmp_path):
    role_profile(home, "both")
    proc, master = _pty_caller([TOOL, "credential-process", "-p", "both"], home.env)
    read_until(master, b"(profile both, role TerraformRole in")
    # Another caller with no terminal and no display: on its own it would fail with another line.
    waiting = detached([TOOL, "credential-process", "-p", "both"], home.env)
    wait_until_waiting_on([waiting], home.cache / "both.lock")
    os.write(master, b"\x03")
    proc.communicate(timeout=30)
    shown = read_until(master, b"written", timeout=5).decode()
    os.close(master)
    _, err = waiting.communicate(timeout=30)
    assert proc.returncode == 130 and waiting.returncode == 130, (shown, err)
    line = "terraform-session-token: error: the MFA prompt was interrupted; nothing was written"
    assert err == line + "\n"
    assert f"^C\r\n{line}\r\n" in shown, "the same line, on a line of its own, at the terminal"
    assert not (home.cache / "both.json").exists()


def test_ykman_with_no_terminal_asks_for_the_touch_in_a_desktop_notification(home, local_aws, tmp_path, display):
    code_file = tmp_path / "code"
    bindir, log = logged(tmp_path, "ykman", body=f'cat "{code_file}"\n')
    _, notes = logged(tmp_path, "notify-send", body="exit 0\n")
    role_profile(home, "touch", "mfa_prompt = ykman")
    code_file.write_text(home.code() + "\n")
    path = f"{bindir}{os.pathsep}{tmp_path / 'bin-notify-send'}{os.pathsep}{home.env['PATH']}"
    result = subprocess.run(
        [TOOL, "credential-process", "-p", "touch"],
        env={**home.env, "PATH": path, "DISPLAY": display.name},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stderr
    [note] = calls(notes)
    assert note[:3] == ["--app-name", "terraform-session-token", "terraform-session-token"]
    assert "(profile touch, role TerraformRole" in note[3] and "touch it" in note[3]


def test_three_first_run_callers_with_no_terminal_share_one_dialog(home, local_aws, display, tmp_path):
    """Right after configure (no device known yet), three callers with no terminal: one dialog,
    one code, one discovery, one AssumeRole, and all three are served."""
    bindir, log = logged(tmp_path, "zenity", real="/usr/bin/zenity")
    result = home.run("configure", "-p", "first", "--role", "TerraformRole")
    assert result.returncode == 0, result.stderr
    local_aws.reset_requests()
    env = dialog_env(home, display, bindir)
    procs = [detached([TOOL, "credential-process", "-p", "first"], env) for _ in range(3)]
    display.window(DIALOG)
    wait_until_waiting_on(procs, home.cache / "first.lock")
    answer_dialog(display, home.code)
    results = [proc.communicate(timeout=60) for proc in procs]
    actions = local_aws.actions()
    counted = {a: actions.count(a) for a in ("ListMFADevices", "GetRole", "AssumeRole")}
    assert (len(calls(log)), counted) == (1, {"ListMFADevices": 1, "GetRole": 1, "AssumeRole": 1})
    assert [p.returncode for p in procs] == [0] * 3, results
    assert len({json.loads(out)["AccessKeyId"] for out, _ in results}) == 1
