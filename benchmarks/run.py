"""Benchmarks: start-up, refresh and parallel credential-process, against the local AWS.

    .venv/bin/python benchmarks/run.py            # full run: medians over 15 repeats
    .venv/bin/python benchmarks/run.py --quick    # 3 repeats (CI runs this so it can't rot)

Every figure is a median wall time with its ratio to a baseline measured in the same run:
`python -c pass` for the paths that need no AWS call, `aws sts assume-role` (the AWS CLI,
same local AWS, same role) for a refresh. Prints a Markdown table. Never fails on timing.

The cached credential-process runs the command as users install it: the wheel built from the
tree, installed by pip into scratch venvs, through the launcher pip makes of the entry point;
once by the pinned pip (the venv's) and once by the pip this Python bundles (ensurepip's, what
`python -m venv` installs), whose launcher imports re first when it is older than pip 26.
"""

from __future__ import annotations

import argparse
import ensurepip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib.metadata import version as metadata_version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import build_wheel  # noqa: E402  (scripts/build_wheel.py)

from local_aws import LocalAws  # noqa: E402

BIN = Path(sys.executable).parent
TOOL = str(BIN / "terraform-session-token")
AWS_CLI = str(BIN / "aws")
ROLE = "arn:aws:iam::123456789012:role/TerraformRole"
ENDPOINT_CLIENT = """
import os, statistics, sys, time, urllib.request
request = urllib.request.Request(
    os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
    headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]},
)
times = []
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    with urllib.request.urlopen(request) as response:  # a new connection each time, as SDKs make them
        response.read()
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""
RSS_LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(os.wait4(proc.pid, 0)[2].ru_maxrss)
"""


def plural(count: float, noun: str) -> str:
    return f"{count:g} {noun}" + ("" if count == 1 else "s")


class Bench:
    def __init__(self, repeats: int):
        self.repeats = repeats
        self.aws = LocalAws().start()
        self.root = Path(tempfile.mkdtemp(prefix="tst-bench-"))
        (self.root / ".aws").mkdir(mode=0o700)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            HOME=str(self.root),
            AWS_ENDPOINT_URL=self.aws.endpoint,
            XDG_CACHE_HOME=str(self.root / ".cache"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.root / ".aws" / "credentials"),
            AWS_CONFIG_FILE=str(self.root / ".aws" / "config"),
        )
        self.credentials = ""
        self.config = ""
        self.rows: list[tuple[str, str, str, str]] = []

    def add_source(self, name: str):
        """A fresh IAM user as source profile `name`, with a configured session profile `name-tf`."""
        identity = self.aws.new_identity()
        self.credentials += (
            f"[{name}]\naws_access_key_id = {identity.access_key_id}\n"
            f"aws_secret_access_key = {identity.secret_access_key}\nregion = us-east-1\n"
        )
        self.config += (
            f"[profile {name}-tf]\nsession_role_arn = {ROLE}\nmfa_serial = {identity.serial}\n"
            f"session_source_profile = {name}\nregion = us-east-1\n"
        )
        Path(self.env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(self.credentials)
        Path(self.env["AWS_CONFIG_FILE"]).write_text(self.config)
        return identity

    def install_wheel(self) -> dict[str, str]:
        """The wheel built from the tree, installed by pip into two scratch venvs (with --no-deps:
        a cached credential-process imports none of them): {pip version: installed command}."""
        built = build_wheel.build(self.root / "wheel")
        bundled = Path(ensurepip.__file__).parent / "_bundled"
        [bundled_pip] = bundled.glob("pip-*.whl")  # run from the wheel, as ensurepip runs it
        installs = {
            metadata_version("pip"): [sys.executable, "-m", "pip", "--python", "{python}"],
            bundled_pip.name.split("-")[1]: ["{python}", str(bundled_pip / "pip")],
        }
        commands = {}
        for n, (version, pip) in enumerate(installs.items()):
            venv = self.root / f"venv{n}"
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
            python = str(venv / "bin" / "python")
            argv = [a.format(python=python) for a in pip]
            subprocess.run(
                [*argv, "install", "-q", "--disable-pip-version-check", "--no-deps", str(built)],
                check=True,
                capture_output=True,
            )
            commands[version] = str(venv / "bin" / "terraform-session-token")
        return commands

    def time_commands(self, commands: dict) -> dict[str, float]:
        """Median seconds of each command; the commands take turns, so drift in the
        machine's speed affects them all alike. `commands` maps a name to argv_for_run(n)."""
        times: dict[str, list[float]] = {name: [] for name in commands}
        for n in range(self.repeats):
            for name, argv_for_run in commands.items():
                argv = argv_for_run(n)
                start = time.perf_counter()
                proc = subprocess.run(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                times[name].append(time.perf_counter() - start)
                if proc.returncode != 0:
                    raise SystemExit(f"benchmark command failed: {argv}: {proc.stderr.decode()}")
        return {name: statistics.median(values) for name, values in times.items()}

    def peak_rss(self, argv) -> int:
        """The command's own peak RSS in KiB, read by a small launcher: a child forked from
        this process (which holds moto) would count this process's pages in its high-water mark."""
        out = subprocess.run(
            [sys.executable, "-c", RSS_LAUNCHER, *argv], env=self.env, capture_output=True, text=True
        ).stdout
        return int(out.strip() or 0)

    def importtime(self, command: str, args) -> str:
        """What -X importtime says of one run of an installed command, run by its own venv's Python."""
        python = str(Path(command).parent / "python")
        return subprocess.run(
            [python, "-X", "importtime", command, *args], env=self.env, capture_output=True, text=True
        ).stderr

    def botocore_note(self, command: str, args) -> str:
        """Whether the command imported botocore."""
        return "botocore imported" if "botocore" in self.importtime(command, args) else "botocore not imported"

    def launcher_imports_re(self, command: str) -> str:
        """Whether the launcher pip wrote imports re (before anything of the tool runs)."""
        lines = Path(command).read_text().splitlines()
        return "imports re" if "import re" in lines else "no re"

    def row(self, name: str, seconds: float, baseline: float, baseline_name: str, note: str = "") -> None:
        self.rows.append((name, f"{seconds * 1000:.0f} ms", f"{seconds / baseline:.2f}x {baseline_name}", note))

    def requests(self, action: str | None = None) -> int:
        return len([r for r in self.aws.requests() if action in (None, r["action"])])

    def run(self) -> None:
        cached = self.add_source("cached")
        subprocess.run(
            [TOOL, "credential-process", "-p", "cached-tf", "--code", cached.totp()],
            env=self.env,
            check=True,
            capture_output=True,
        )
        # Once as configure writes it: the full path records the state the hot path answers from.
        subprocess.run([TOOL, "credential-process", "-p", "cached-tf"], env=self.env, check=True, capture_output=True)
        # A Terraform plan profile: the same role narrowed by ReadOnlyAccess and the lock's inline policy.
        narrowed = self.add_source("narrowed")
        lock = subprocess.run(
            [TOOL, "policy", "--plan-session", "--state-bucket", "infra", "--state-key", "a/terraform.tfstate",
             "--lock-table", "locks"], env=self.env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        self.config += (
            "session_policy_arns = arn:aws:iam::aws:policy/ReadOnlyAccess\n"
            f"session_policy = {json.dumps(json.loads(lock), separators=(',', ':'))}\n"
        )
        Path(self.env["AWS_CONFIG_FILE"]).write_text(self.config)
        for code in (narrowed.totp(), None):
            argv = [TOOL, "credential-process", "-p", "narrowed-tf"] + (["--code", code] if code else [])
            subprocess.run(argv, env=self.env, check=True, capture_output=True)
        installed = self.install_wheel()
        pinned, bundled = installed
        fast = {
            "python": [sys.executable, "-c", "pass"],
            "`--help`": [TOOL, "--help"],
            "`status`": [TOOL, "status"],
            "`policy`": [TOOL, "policy"],
            "cached `credential-process`": [installed[pinned], "credential-process", "-p", "cached-tf"],
            "cached `credential-process`, plan profile": [installed[pinned], "credential-process", "-p", "narrowed-tf"],
            f"cached `credential-process`, launcher of pip {bundled}": [
                installed[bundled],
                "credential-process",
                "-p",
                "cached-tf",
            ],
        }
        self.aws.reset_requests()
        medians = self.time_commands({name: (lambda n, a=argv: a) for name, argv in fast.items()})
        requests = self.requests()
        base = medians.pop("python")
        self.rows.append(("`python -c pass` (baseline)", f"{base * 1000:.0f} ms", "1.00x", ""))
        for name, seconds in medians.items():
            command, *args = fast[name]
            note = self.botocore_note(command, args)
            if "credential-process" in name:
                pip = bundled if command == installed[bundled] else pinned
                note = f"{plural(requests, 'request')}, {note}, launcher of pip {pip}"
                note += f" ({self.launcher_imports_re(command)}), goal: at most 1.50x"
            self.row(name, seconds, base, "python", note)

        # A configured refresh against the AWS CLI doing the same AssumeRole; a fresh user per
        # repeat, so every run has an unspent code.
        cli_users = [self.add_source(f"cli{n}") for n in range(self.repeats)]
        tool_users = [self.add_source(f"r{n}") for n in range(self.repeats + 1)]

        def cli(n):
            return [
                AWS_CLI,
                "sts",
                "assume-role",
                "--profile",
                f"cli{n}",
                "--role-arn",
                ROLE,
                "--role-session-name",
                "bench",
                "--serial-number",
                cli_users[n].serial,
                "--token-code",
                cli_users[n].totp(),
            ]

        def refresh(n):
            return [TOOL, "-p", f"r{n}-tf", "--force", "--code", tool_users[n].totp()]

        self.aws.reset_requests()
        medians = self.time_commands({"cli": cli, "refresh": refresh})
        keys = {u.access_key_id for u in tool_users}
        ours = [r["action"] for r in self.aws.requests() if r["key"] in keys]
        cli_keys = {u.access_key_id for u in cli_users}
        theirs = [r["action"] for r in self.aws.requests() if r["key"] in cli_keys]
        rss = self.peak_rss(refresh(self.repeats))
        self.rows.append(
            (
                "`aws sts assume-role` (baseline)",
                f"{medians['cli'] * 1000:.0f} ms",
                "1.00x",
                f"{plural(len(theirs) / self.repeats, 'request')} per run",
            )
        )
        self.row(
            "configured refresh",
            medians["refresh"],
            medians["cli"],
            "aws cli",
            f"{plural(len(ours) / self.repeats, 'request')} per run ({', '.join(sorted(set(ours)))}); "
            f"peak RSS {rss / 1024:.0f} MiB",
        )

        first = self.add_source("first")
        self.aws.reset_requests()
        start = time.perf_counter()
        subprocess.run(
            [TOOL, "-p", "first-new", "--source-profile", "first", "--role", "TerraformRole", "--code", first.totp()],
            env=self.env,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        self.rows.append(
            (
                "first run (discovery)",
                f"{wall * 1000:.0f} ms",
                f"{wall / medians['cli']:.2f}x aws cli",
                f"one run; {plural(self.requests(), 'request')}: {', '.join(self.aws.actions())}",
            )
        )

        self.parallel()
        self.endpoint()
        self.many_sections()

    def many_sections(self) -> None:
        """status and clear --all over 10,000 managed sections: linear, not quadratic."""
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from terraform_session_token.profiles import MARKER

        path = Path(self.env["AWS_SHARED_CREDENTIALS_FILE"])
        user = path.read_text()
        sections = "".join(
            f"\n[many{n}]\n{MARKER}\naws_access_key_id = ASIA{n:016d}\naws_secret_access_key = s{n}\n"
            f"aws_session_token = t{n}\nexpiration = 2099-01-01T00:00:00Z\n"
            for n in range(10_000)
        )
        times = {}
        for name, argv in (("status", [TOOL, "status"]), ("clear --all", [TOOL, "clear", "--all"])):
            path.write_text(user + sections)
            start = time.perf_counter()
            subprocess.run(argv, env=self.env, check=True, capture_output=True)
            times[name] = time.perf_counter() - start
        path.write_text(user)
        for name, seconds in times.items():
            self.rows.append((f"`{name}`, 10,000 managed sections", f"{seconds * 1000:.0f} ms", "", "one run"))

    def endpoint(self) -> None:
        """exec's credential endpoint answering for a cached session, as an SDK in the child asks it."""
        count = 30 * self.repeats
        result = subprocess.run(
            [TOOL, "exec", "-p", "cached-tf", "--", sys.executable, "-c", ENDPOINT_CLIENT, str(count)],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        median = float(result.stdout.strip())
        self.rows.append(
            ("`exec` endpoint, cached session", f"{median * 1000:.1f} ms", "", f"median of {count} requests")
        )

    def parallel(self) -> None:
        """16 cold credential-process calls at once, as Terraform's provider aliases make them, on a
        profile right after `configure`: a role by name, no MFA device known, nothing cached."""
        identity = self.add_source("par")
        counter = self.root / "prompts"
        # Every call of the code command prints the code of the moment: the local AWS takes it once,
        # as AWS does, so a second code asked for would fail its caller.
        mfa = f"echo x >> {counter}; python3 -c \"print('{identity.totp()}')\""
        subprocess.run(
            [
                TOOL,
                "configure",
                "-p",
                "cold",
                "--source-profile",
                "par",
                "--role",
                "TerraformRole",
                "--mfa-process",
                mfa,
            ],
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.aws.reset_requests()
        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                [TOOL, "credential-process", "-p", "cold"],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(16)
        ]
        outputs = [p.communicate()[0] for p in procs]
        wall = time.perf_counter() - start
        served = {json.loads(out)["AccessKeyId"] for p, out in zip(procs, outputs) if p.returncode == 0}
        ok = sum(p.returncode == 0 for p in procs)
        prompts = len(counter.read_text().splitlines()) if counter.exists() else 0
        calls = ", ".join(f"{self.requests(a)} {a}" for a in ("ListMFADevices", "GetRole", "AssumeRole"))
        self.rows.append(
            (
                "16 parallel cold `credential-process`, right after `configure`",
                f"{wall * 1000:.0f} ms",
                "",
                f"{plural(prompts, 'code')} asked, {calls}; {ok} of 16 served, "
                f"{plural(len(served), 'distinct session')}",
            )
        )

    def table(self) -> str:
        lines = [
            f"Measured {date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, medians of {self.repeats} runs.",
            "",
            "| what | median | ratio | notes |",
            "|---|---|---|---|",
        ]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 repeats: checks the benchmark still runs")
    args = parser.parse_args()
    bench = Bench(3 if args.quick else 15)
    try:
        bench.run()
    finally:
        bench.aws.stop()
    print(bench.table())


if __name__ == "__main__":
    main()
