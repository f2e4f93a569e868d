"""Fixtures: the local AWS (in-process, real HTTP), a private HOME per test, the installed command."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from xdisplay import Display

from local_aws import LocalAws

# A test run started in the background by a shell without job control (nohup, `cmd &` in a script)
# inherits SIGINT and SIGQUIT ignored, and every command it starts would too: the tool would then
# sit at a prompt through the Ctrl-C a test sends. The tests start their commands with these
# signals as a terminal gives them.
for _signal in (signal.SIGINT, signal.SIGQUIT):
    if signal.getsignal(_signal) == signal.SIG_IGN:
        signal.signal(_signal, signal.default_int_handler if _signal == signal.SIGINT else signal.SIG_DFL)

BIN = Path(sys.executable).parent
TOOL = str(BIN / "terraform-session-token")
AWS_CLI = str(BIN / "aws")
ROOT = Path(__file__).resolve().parents[1]
GO_READER_SRC = Path(__file__).parent / "goreader"


def pytest_sessionstart(session):
    """The tests run the installed command: a copy older than src/ would test yesterday's code."""
    import importlib.util

    spec = importlib.util.find_spec("terraform_session_token")
    installed = Path(spec.origin).parent if spec and spec.origin else None
    source = Path(__file__).resolve().parents[1] / "src" / "terraform_session_token"
    if installed is None or installed.resolve() == source.resolve():
        return
    stale = [
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if not (installed / path.relative_to(source)).is_file()
        or (installed / path.relative_to(source)).read_bytes() != path.read_bytes()
    ]
    if stale:
        pytest.exit(
            f"the installed terraform-session-token is older than src/ ({', '.join(sorted(stale)[:5])}): "
            "run scripts/setup, or .venv/bin/pip install -q --no-deps . for the quick loop",
            returncode=3,
        )


@pytest.fixture(scope="session")
def local_aws():
    aws = LocalAws().start()
    yield aws
    aws.stop()


@pytest.fixture
def identity(local_aws):
    """A fresh IAM user with a virtual MFA device: its codes are not spent by other tests."""
    return local_aws.new_identity()


@dataclass
class Home:
    """A private HOME with ~/.aws, and the environment the tool runs in."""

    root: Path
    env: dict[str, str]
    identity: object
    endpoint: str
    extra: dict = field(default_factory=dict)

    @property
    def credentials(self) -> Path:
        return self.root / ".aws" / "credentials"

    @property
    def config(self) -> Path:
        return self.root / ".aws" / "config"

    @property
    def cache(self) -> Path:
        return self.root / ".cache" / "terraform-session-token"

    def run(self, *args, input=None, env=None, timeout=60, tool=TOOL):
        return subprocess.run(
            [tool, *args],
            input=input,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )

    def aws_cli(self, *args, env=None):
        return subprocess.run(
            [AWS_CLI, *args], capture_output=True, text=True, env={**self.env, **(env or {})}, timeout=60
        )

    def sts_client(self):
        """A boto3 STS client with this home's long-term keys, against the local AWS."""
        import boto3

        return boto3.client(
            "sts",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.identity.access_key_id,
            aws_secret_access_key=self.identity.secret_access_key,
        )

    def code(self):
        return self.identity.fresh_code()

    def mfa_process(self, counter: Path) -> str:
        """An mfa_process command that counts how often it is asked and prints a code AWS accepts now."""
        script = counter.with_suffix(".sh")
        url = f"{self.endpoint}/_local_aws/fresh_code?user={self.identity.user_name}"
        script.write_text(
            f"#!/bin/sh\necho asked >> '{counter}'\n"
            f"exec '{sys.executable}' -c \"import json, urllib.request; "
            f"print(json.load(urllib.request.urlopen('{url}'))['code'])\"\n"
        )
        script.chmod(0o755)
        return str(script)

    def codes_asked(self, counter: Path) -> int:
        return len(counter.read_text().splitlines()) if counter.exists() else 0

    def switch_identity(self, identity) -> None:
        """Make [default] another user's keys. A user has only three acceptable codes at a
        time (previous, current, next step), and the previous one may expire in flight."""
        text = self.credentials.read_text()
        text = text.replace(self.identity.access_key_id, identity.access_key_id)
        text = text.replace(self.identity.secret_access_key, identity.secret_access_key)
        self.credentials.write_text(text)
        if self.config.exists():  # a device remembered by an earlier run
            self.config.write_text(self.config.read_text().replace(self.identity.serial, identity.serial))
        self.identity = identity


def sts_as(endpoint: str, document: dict):
    """A boto3 STS client signing with the keys of `document` (AccessKeyId, SecretAccessKey[, SessionToken])."""
    import boto3

    return boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=document["AccessKeyId"],
        aws_secret_access_key=document["SecretAccessKey"],
        aws_session_token=document.get("SessionToken"),
    )


def blocking(tmp_path: Path, module: str) -> dict[str, str]:
    """The environment in which importing `module` fails, as when the package is not installed."""
    blocker = tmp_path / f"block-{module}"
    blocker.mkdir()
    (blocker / f"{module}.py").write_text("raise ImportError('blocked for the test')\n")
    return {"PYTHONPATH": str(blocker)}


def bash_complete(home: Home, script: Path, words: list[str], cwd=None) -> list[str]:
    """What bash's completion function offers for the last of `words` (the real bash, the script's function)."""
    line = " ".join(words)
    quoted = " ".join(f"'{w}'" for w in words)
    probe = (
        f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
        f"COMP_LINE='{line}'; COMP_POINT={len(line)}; _shtab_terraform_session_token; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=home.env, cwd=cwd)
    return result.stdout.split()


def clean_environment(home: Path, endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home),
        AWS_ENDPOINT_URL=endpoint,
        LOCAL_AWS_ENDPOINT=endpoint,
        XDG_CACHE_HOME=str(home / ".cache"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    # No display and no prompt choice of the developer's desktop: tests that want them set them.
    for name in ("TERRAFORM_SESSION_TOKEN_CACHE", "TERRAFORM_SESSION_TOKEN_PROMPT", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


@pytest.fixture
def home(tmp_path, local_aws, identity):
    root = tmp_path / "home"
    (root / ".aws").mkdir(parents=True)
    (root / ".aws").chmod(0o700)
    creds = root / ".aws" / "credentials"
    creds.write_text(
        "# long-term keys\n[default]\n"
        f"aws_access_key_id = {identity.access_key_id}\n"
        f"aws_secret_access_key = {identity.secret_access_key}\n"
        "region = us-east-1\n"
    )
    creds.chmod(0o600)
    return Home(root, clean_environment(root, local_aws.endpoint), identity, local_aws.endpoint)


@pytest.fixture
def secret_service(tmp_path):
    """A real Secret Service: gnome-keyring under a private D-Bus session, its keyring unlocked
    with a test password; the environment that reaches it. Stopped (bus and daemon) after the test."""
    if shutil.which("gnome-keyring-daemon") is None or shutil.which("dbus-run-session") is None:
        if os.environ.get("CI"):
            pytest.fail("gnome-keyring or dbus missing in CI: .ci/run must install them")
        pytest.skip("gnome-keyring and dbus are not installed")
    home = tmp_path / "keyring-home"
    runtime = home / "run"  # its own control socket: a second daemon would find and reuse another's
    runtime.mkdir(parents=True, mode=0o700)
    proc = subprocess.Popen(
        ["dbus-run-session", "--", str(Path(__file__).parent / "secret_service.sh"), "test-password"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        | {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)},
        text=True,
    )
    address = proc.stdout.readline().strip()
    assert address.startswith("unix:"), "the D-Bus session did not start"
    yield {"DBUS_SESSION_BUS_ADDRESS": address}
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def go_reader(tmp_path_factory):
    """The Go program on aws-sdk-go-v2 (Terraform's SDK), built once per run."""
    go = shutil.which("go")
    if go is None or not Path("/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2").is_dir():
        if os.environ.get("CI"):
            pytest.fail("Go or aws-sdk-go-v2 missing in CI: .ci/run must install them")
        pytest.skip("go and golang-github-aws-aws-sdk-go-v2-dev are not installed")
    out = tmp_path_factory.mktemp("go") / "goreader"
    env = dict(
        os.environ,
        GOPATH="/usr/share/gocode",
        GO111MODULE="off",
        GOCACHE=str(tmp_path_factory.getbasetemp() / "gocache"),
    )
    subprocess.run([go, "build", "-o", str(out), "."], cwd=GO_READER_SRC, env=env, check=True, timeout=600)
    return str(out)


def go_identity(go_reader: str, home: Home, profile: str, env=None):
    return subprocess.run(
        [go_reader],
        capture_output=True,
        text=True,
        env={**home.env, "AWS_PROFILE": profile, **(env or {})},
        timeout=60,
    )


def _self_signed(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no trust store knows: TLS tests need a CA bundle for it."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local-aws")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="session")
def tls_aws(local_aws, tmp_path_factory):
    """The same local AWS (moto's state is shared in-process) served over HTTPS."""
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    aws = LocalAws(ssl_context=(cert, key)).start()
    aws.ca_bundle = cert
    yield aws
    aws.stop()


def assert_one_line_failure(result, exit_code: int, *needles: str) -> None:
    """The promise for every failure: the exit code of its kind, one line, no traceback."""
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("terraform-session-token: error: "), (
        result.stderr
    )
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def run_parallel(argv, env, count: int, timeout: float = 120) -> list[tuple[str, str, int]]:
    """`count` copies of argv started at once, as an SDK's parallel callers: (stdout, stderr, exit code) each."""
    procs = [
        subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    return [p.communicate(timeout=timeout) + (p.returncode,) for p in procs]


def on_terminal(argv, env):
    """Start argv in a new session whose controlling terminal (and stdio) is a new pseudo-terminal;
    returns the process and the terminal's master side."""
    import fcntl
    import termios

    master, slave = os.openpty()
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    return proc, master


def read_until(fd, marker: bytes, timeout: float = 30) -> bytes:
    """What the terminal (or a pipe) shows until `marker` (or its end); fails after `timeout` seconds."""
    import select
    import time

    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert ready, f"waited for {marker!r}: {seen!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # a terminal whose other side closed
            break
        if not chunk:  # a pipe that ended
            break
        seen += chunk
    return seen


@pytest.fixture
def display():
    """This test's own X display (see xdisplay.py): drive its dialogs with its methods."""
    missing = [p for p in ("Xvfb", "zenity", "xdotool") if shutil.which(p) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing in CI: .ci/run must install them")
        pytest.skip(f"{', '.join(missing)} not installed")
    screen = Display()
    yield screen
    screen.stop()


def fresh_clone(target: Path) -> Path:
    """The files a clone of this tree would have once committed: tracked and new files, without
    what .gitignore leaves out (.venv, build/, egg-info)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():  # not a file deleted since the last commit
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target
