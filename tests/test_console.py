"""console: the AWS console as the profile's role, from the same session, through AWS's federation
endpoint as the local AWS serves it; a real browser (headless Chromium) ends on the console page."""

from __future__ import annotations

import fcntl
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import pytest
from conftest import TOOL, assert_one_line_failure

from local_aws import ACCOUNT
from terraform_session_token import console

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"


def signed_in_as(home):
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/TerraformRole/{home.identity.user_name}"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


def follow(url: str) -> tuple[str, str]:
    """A real HTTP client with cookies, following redirects: (final URL, page)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(url, timeout=30) as response:
        return response.geturl(), response.read().decode()


def signin_requests(local_aws):
    return [r for r in local_aws.requests("signin")]


# -- the pure part: hosts, destinations, URLs ------------------------------------------------


@pytest.mark.parametrize(
    "partition, region, signin, home_page",
    [
        ("aws", "us-east-1", "https://signin.aws.amazon.com", "https://console.aws.amazon.com/console/home?region=us-east-1"),
        ("aws", "eu-west-1", "https://eu-west-1.signin.aws.amazon.com", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"),
        ("aws-cn", "cn-northwest-1", "https://signin.amazonaws.cn", "https://console.amazonaws.cn/console/home?region=cn-northwest-1"),
        ("aws-cn", "eu-west-1", "https://signin.amazonaws.cn", "https://console.amazonaws.cn/console/home?region=cn-north-1"),
        ("aws-us-gov", "us-gov-east-1", "https://signin.amazonaws-us-gov.com", "https://console.amazonaws-us-gov.com/console/home?region=us-gov-east-1"),
        ("aws-us-gov", None, "https://signin.amazonaws-us-gov.com", "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"),
        ("aws", "cn-north-1", "https://signin.aws.amazon.com", "https://console.aws.amazon.com/console/home?region=us-east-1"),
    ],
)  # fmt: skip
def test_partitions_and_regions_give_the_right_hosts(partition, region, signin, home_page):
    chosen = console.console_region(partition, region)
    assert console.signin_base(partition, chosen) == signin
    assert console.destination(None, partition, chosen) == home_page


def test_partition_of_a_role_arn():
    assert console.partition_of("arn:aws-us-gov:sts::123456789012:assumed-role/R/x") == "aws-us-gov"
    assert console.partition_of("arn:aws-cn:iam::123456789012:role/R") == "aws-cn"
    assert console.partition_of("TerraformRole") == "aws"


@pytest.mark.parametrize(
    "wanted, expected",
    [
        ("s3", "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"),
        ("cloudwatch", "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"),
        ("ec2/home#Instances", "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances"),
        ("/ec2/home?region=us-east-2#Instances", "https://eu-west-1.console.aws.amazon.com/ec2/home?region=us-east-2#Instances"),
        ("https://s3.console.aws.amazon.com/s3/buckets/x", "https://s3.console.aws.amazon.com/s3/buckets/x"),
    ],
)  # fmt: skip
def test_destinations(wanted, expected):
    assert console.destination(wanted, "aws", "eu-west-1") == expected


@pytest.mark.parametrize(
    "wanted",
    [
        "https://evil.example/console.aws.amazon.com",
        "http://console.aws.amazon.com/",
        "https://console.aws.amazon.com.evil.example/",
        "https://console.amazonaws.cn/",  # another partition's console
        "ec2 home",
        "ec2/\x1b[31m",
        "https://evil.example\\@console.aws.amazon.com/",  # Chromium's host: evil.example
        "https://evil.example\\.console.aws.amazon.com/",
        "https://user:pw@console.aws.amazon.com/",
        "https://console.aws.amazon.com:8443/",
        "https://console.aws.amazon.com\t.evil.example/",
        "https://evil%2Eexample.console.aws.amazon.com/",
        "HTTPS://console.aws.amazon.com/",
    ],
)
def test_destinations_that_are_not_console_pages_are_refused(wanted):
    with pytest.raises(ValueError):
        console.destination(wanted, "aws", "us-east-1")


@pytest.mark.parametrize(
    "wanted", ["https://evil.example\\@console.aws.amazon.com/", "https://evil.example\\.console.aws.amazon.com/s3"]
)
def test_a_destination_browsers_read_as_another_host_is_refused_before_any_code(home, local_aws, tmp_path, wanted):
    counter = tmp_path / "codes"
    local_aws.reset_requests()
    result = home.run(
        "console", "-p", "prod", "--role", "TerraformRole", "--serial", home.identity.serial,
        "--mfa-process", home.mfa_process(counter), "--print", "--destination", wanted,
    )  # fmt: skip
    assert_one_line_failure(result, 2, "is not an https URL of the aws console", "backslash")
    assert result.stdout == "" and local_aws.actions() == [] and home.codes_asked(counter) == 0


def test_signin_token_url_carries_the_session_and_the_duration_only_when_given():
    url = console.signin_token_url("https://signin.aws.amazon.com", "ASIAX", "se/cr+et", "to&ken", 900)
    q = query_of(url)
    assert q["Action"] == "getSigninToken" and q["SessionDuration"] == "900"
    assert json.loads(q["Session"]) == {"sessionId": "ASIAX", "sessionKey": "se/cr+et", "sessionToken": "to&ken"}
    assert "SessionDuration" not in console.signin_token_url("https://x", "A", "B", "C", None)


def test_logout_first_wraps_the_login_url():
    login = console.login_url("https://signin.aws.amazon.com", "TOK", "https://console.aws.amazon.com/")
    wrapped = console.login_url("https://signin.aws.amazon.com", "TOK", "https://console.aws.amazon.com/", True)
    assert wrapped.startswith("https://signin.aws.amazon.com/oauth?Action=logout&redirect_uri=")
    assert query_of(wrapped)["redirect_uri"] == login


# -- against the local AWS ----------------------------------------------------------------------


def test_console_with_a_direct_role_session_sends_the_console_duration(home, local_aws):
    local_aws.reset_requests()
    result = home.run("console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(), "--print")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert result.stdout.count("\n") == 1 and url.startswith(home.endpoint + "/federation?Action=login&")
    assert "is a credential" in result.stderr and "12 h 00 min" in result.stderr
    final, page = follow(url)
    assert signed_in_as(home) in page
    sign_in = local_aws.sign_ins()[-1]
    assert sign_in.arn == signed_in_as(home) and sign_in.duration == 43200
    assert sign_in.destination == "https://console.aws.amazon.com/console/home?region=us-east-1"
    assert sign_in.issuer == "terraform-session-token"
    # The token is good once.
    with pytest.raises(urllib.error.HTTPError) as again:
        follow(url)
    assert again.value.code == 400


def test_console_duration_from_the_profile_and_the_flag(home, local_aws):
    home.config.write_text("[profile prod]\nconsole_duration = 3600\n")
    first = home.run("console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(), "--print")
    assert first.returncode == 0, first.stderr
    follow(first.stdout.strip())
    assert local_aws.sign_ins()[-1].duration == 3600 and "1 h 00 min" in first.stderr
    second = home.run("console", "-p", "prod", "--console-duration", "7200", "--print")
    follow(second.stdout.strip())
    assert local_aws.sign_ins()[-1].duration == 7200 and "2 h 00 min" in second.stderr


@pytest.mark.parametrize("value", ["899", "43201", "abc"])
def test_console_durations_out_of_range_are_refused_before_any_call(home, local_aws, value):
    local_aws.reset_requests()
    result = home.run("console", "-p", "prod", "--role", "TerraformRole", "--console-duration", value, "--print")
    assert_one_line_failure(result, 2)
    assert local_aws.actions() == []
    home.config.write_text(f"[profile prod]\nconsole_duration = {value}\n")
    result = home.run("console", "-p", "prod", "--role", "TerraformRole", "--print")
    assert_one_line_failure(result, 3, "console_duration")
    assert local_aws.actions() == []


def test_mfa_session_profile_sends_no_duration_and_says_the_console_lasts_at_most_an_hour(home, local_aws, tmp_path):
    counter = tmp_path / "codes"
    home.config.write_text(
        f"[profile chained]\nsession_role_arn = {ROLE}\nmfa_serial = {home.identity.serial}\n"
        f"mfa_session = true\nmfa_process = {home.mfa_process(counter)}\nconsole_duration = 28800\n"
    )
    result = home.run("console", "-p", "chained", "--print")
    assert result.returncode == 0, result.stderr
    assert "at most 1 h" in result.stderr and "console_duration was not sent" in result.stderr
    token_request = [r for r in local_aws.requests("signin") if r["action"] == "getSigninToken"][-1]
    assert token_request["error"] == ""
    _, page = follow(result.stdout.strip())
    assert signed_in_as(home) in page
    assert local_aws.sign_ins()[-1].duration is None
    assert home.codes_asked(counter) == 1


def test_a_no_role_profile_is_refused_before_any_aws_call(home, local_aws):
    local_aws.reset_requests()
    result = home.run("console", "-p", "me", "--no-role", "--serial", home.identity.serial, "--print")
    assert_one_line_failure(result, 2, "only with role sessions", "--role")
    home.config.write_text(f"[profile me]\nmfa_serial = {home.identity.serial}\n")
    assert_one_line_failure(home.run("console", "-p", "me", "--print"), 2, "no role")
    assert local_aws.actions() == []


def test_console_after_credential_process_asks_no_code_and_assumes_no_role(home, local_aws, tmp_path):
    counter = tmp_path / "codes"
    configured = home.run(
        "configure", "-p", "tf", "--role", "TerraformRole", "--serial", home.identity.serial,
        "--mfa-process", home.mfa_process(counter),
    )  # fmt: skip
    assert configured.returncode == 0, configured.stderr
    assert home.run("credential-process", "-p", "tf").returncode == 0
    local_aws.reset_requests()
    result = home.run("console", "-p", "tf", "--print")
    assert result.returncode == 0, result.stderr
    assert home.codes_asked(counter) == 1
    assert [r["action"] for r in local_aws.requests()] == ["getSigninToken"]
    token = query_of(result.stdout.strip())["SigninToken"]
    _, page = follow(result.stdout.strip())
    assert signed_in_as(home) in page
    # Neither the sign-in token nor the URL was written anywhere under HOME (cache included).
    for path in Path(home.root).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert token.encode() not in data and b"SigninToken" not in data, path


def test_a_session_the_classic_flow_wrote_serves_the_console(home, local_aws):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    local_aws.reset_requests()
    result = home.run("console", "--print", "--destination", "s3")
    assert result.returncode == 0, result.stderr
    assert [r["action"] for r in local_aws.requests()] == ["getSigninToken"]
    final, page = follow(result.stdout.strip())
    assert urllib.parse.urlsplit(final).path == "/_console/s3/home"
    assert local_aws.sign_ins()[-1].destination == "https://console.aws.amazon.com/s3/home?region=us-east-1"


def test_logout_first_signs_out_then_in(home, local_aws):
    before = local_aws.rules.federation.logouts
    result = home.run(
        "console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(), "--print", "--logout-first"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(home.endpoint + "/oauth?Action=logout&redirect_uri=")
    _, page = follow(result.stdout.strip())
    assert signed_in_as(home) in page
    assert local_aws.rules.federation.logouts == before + 1


def recorder(tmp_path) -> tuple[str, Path]:
    """A browser stand-in: records its arguments, fetches the first one without following the redirect.

    It holds a lock on its log from before the fetch until the record is written, and `browser_log`
    takes that lock: console returns once the page was fetched, before the record may be written."""
    log = tmp_path / "browser.log"
    script = tmp_path / "browser.py"
    script.write_text(
        "import fcntl, json, sys, urllib.request, urllib.error\n"
        f"held = open({str(log)!r}, 'a')\n"
        "fcntl.flock(held, fcntl.LOCK_EX)\n"
        "class NoRedirect(urllib.request.HTTPRedirectHandler):\n"
        "    def redirect_request(self, *a, **k):\n"
        "        return None\n"
        "url = [a for a in sys.argv[1:] if a.startswith('http')][0]\n"
        "try:\n"
        "    urllib.request.build_opener(NoRedirect).open(url, timeout=10)\n"
        "    status, location = 200, ''\n"
        "except urllib.error.HTTPError as e:\n"
        "    status, location = e.code, e.headers.get('Location', '')\n"
        "record = {'argv': sys.argv[1:], 'status': status, 'location': location}\n"
        "held.write(json.dumps(record) + '\\n')\n"
        "held.flush()\n"
    )
    wrapper = tmp_path / "browser"
    wrapper.write_text(f'#!/bin/sh\nexec {subprocess.list2cmdline([os.sys.executable])} {script} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), log


def browser_log(log: Path) -> str:
    """The recorder's log, once the browser that fetched the page has written its record."""
    import fcntl

    with open(log) as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        return f.read()


def test_browser_variable_opens_a_one_time_loopback_address_and_stdout_stays_empty(home, local_aws, tmp_path):
    browser, log = recorder(tmp_path)
    result = home.run(
        "console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(), env={"BROWSER": browser}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Opened the AWS console as " + signed_in_as(home) in result.stderr
    record = json.loads(browser_log(log))
    address = record["argv"][0]
    # The browser's command line holds only a loopback address, never the sign-in token.
    assert address.startswith("http://127.0.0.1:") and "SigninToken" not in address
    assert record["status"] == 302 and record["location"].startswith(home.endpoint + "/federation?Action=login&")
    _, page = follow(record["location"])
    assert signed_in_as(home) in page
    with pytest.raises(urllib.error.URLError):  # it answered once and stopped listening
        urllib.request.urlopen(address, timeout=5)


def test_browser_templates_run_without_a_shell(home, tmp_path):
    browser, log = recorder(tmp_path)
    template = f"{browser} --profile-directory='Prod $(touch {tmp_path}/PWNED)' {{url}} ;touch {tmp_path}/PWNED2"
    result = home.run("console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(), "--browser", template)
    assert result.returncode == 0, result.stderr
    record = json.loads(browser_log(log))
    assert record["argv"][0] == f"--profile-directory=Prod $(touch {tmp_path}/PWNED)"
    assert record["argv"][1].startswith("http://127.0.0.1:") and record["argv"][2:] == [";touch", f"{tmp_path}/PWNED2"]
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()
    home.config.write_text(home.config.read_text() + f"console_browser = {browser} {{url}} profile-key\n")
    assert home.run("console", "-p", "prod").returncode == 0
    assert json.loads(browser_log(log).splitlines()[-1])["argv"][1] == "profile-key"


def test_a_browser_that_is_missing_fails_in_one_line(home):
    result = home.run(
        "console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(), "--browser", "/nonexistent {url}"
    )
    assert_one_line_failure(result, 2, "can't start the browser command")


def test_errors_of_the_federation_endpoint_are_one_line_without_secrets(home, local_aws):
    assert home.run("env", "-p", "prod", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    session = json.loads((home.cache / "prod.json").read_text())
    local_aws.expire(session["AccessKeyId"])  # AWS no longer takes it, though the cache says it is fresh
    result = home.run("console", "-p", "prod", "--print")
    assert_one_line_failure(result, 9, "refused the console sign-in", "HTTP 400")
    for secret in (session["SecretAccessKey"], session["SessionToken"]):
        assert secret not in result.stderr and secret not in result.stdout
    debug = home.run("console", "-p", "prod", "--print", "--debug")
    assert session["SecretAccessKey"] not in debug.stderr and session["SessionToken"] not in debug.stderr
    elsewhere = home.run("console", "-p", "prod", "--print", env={"AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:9"})
    assert_one_line_failure(elsewhere, 8, "can't reach the console sign-in at http://127.0.0.1:9/federation")
    assert session["SecretAccessKey"] not in elsewhere.stderr


def test_doctor_says_whether_and_how_long_the_console_works(home):
    home.config.write_text(
        f"[profile chained]\nsession_role_arn = {ROLE}\nmfa_session = true\n"
        f"[profile me]\nmfa_serial = {home.identity.serial}\n"
        f"[profile direct]\nsession_role_arn = {ROLE}\nconsole_duration = 28800\n"
    )
    assert "at most 1 h at a time" in home.run("doctor", "-p", "chained", "--offline").stdout
    assert "only with role sessions" in home.run("doctor", "-p", "me", "--offline").stdout
    assert "signs in for 8 h 00 min" in home.run("doctor", "-p", "direct", "--offline").stdout


# -- the local AWS's federation rules -------------------------------------------------------------


def federation(local_aws, creds: dict, duration=None) -> tuple[int, str]:
    url = console.signin_token_url(
        local_aws.endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], duration
    )
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_local_federation_follows_aws_rules(home, local_aws):
    sts = home.sts_client()
    user_session = sts.get_session_token(DurationSeconds=900, SerialNumber=home.identity.serial, TokenCode=home.code())[
        "Credentials"
    ]
    status, body = federation(local_aws, user_session)
    assert status == 400 and "Only federation tokens or assume role tokens" in body
    direct = sts.assume_role(
        RoleArn=ROLE, RoleSessionName="tester", SerialNumber=home.identity.serial, TokenCode=home.code()
    )["Credentials"]
    assert federation(local_aws, direct, 43200)[0] == 200
    assert federation(local_aws, direct, 899)[0] == 400
    assert federation(local_aws, direct, 43201)[0] == 400
    chained_client = boto3.client(
        "sts",
        endpoint_url=local_aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id=user_session["AccessKeyId"],
        aws_secret_access_key=user_session["SecretAccessKey"],
        aws_session_token=user_session["SessionToken"],
    )
    chained = chained_client.assume_role(RoleArn=ROLE, RoleSessionName="tester")["Credentials"]
    assert federation(local_aws, chained, 3600)[0] == 400, "a chained session takes no SessionDuration"
    status, body = federation(local_aws, chained)
    assert status == 200
    token = json.loads(body)["SigninToken"]
    wrong = dict(chained, SecretAccessKey="x" * 40)
    assert federation(local_aws, wrong)[0] == 400
    off_console = console.login_url(local_aws.endpoint, token, "https://evil.example/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        follow(off_console)
    assert refused.value.code == 400


def test_the_local_console_needs_a_sign_in(local_aws):
    with pytest.raises(urllib.error.HTTPError) as refused:
        follow(local_aws.endpoint + "/_console/console/home")
    assert refused.value.code == 403


# -- a real browser --------------------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: .ci/run must install it")
        pytest.skip("chromium is not installed")
    return found


def test_headless_chromium_opens_the_printed_url_and_lands_on_the_console(home, tmp_path):
    browser = chromium()
    result = home.run("console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(), "--print")
    assert result.returncode == 0, result.stderr
    dom = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", result.stdout.strip(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert f"Signed in as {signed_in_as(home)}" in dom.stdout, dom.stderr[-2000:]
    assert "Destination: https://console.aws.amazon.com/console/home?region=us-east-1" in dom.stdout


# -- another local user watching command lines ------------------------------------------------------

OTHER_UID = 65534  # nobody
# What another user can do: read every process's command line (/proc/PID/cmdline), take the
# loopback address from the browser's, and fetch it first. It looks only at the command line that
# carries this test's marker (other tests' browsers may run at the same time).
WATCHER = r"""
import json, os, sys, time, urllib.error, urllib.request
marker = sys.argv[1].encode()
deadline = time.monotonic() + 90
address = None
while address is None and time.monotonic() < deadline:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if marker in args:
            address = next((a.decode() for a in args if a.startswith(b"http://127.0.0.1:")), None)
            if address:
                break
    time.sleep(0.01)
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
status, location = 0, ""
try:
    urllib.request.build_opener(NoRedirect).open(address, timeout=10)
    status = 200
except urllib.error.HTTPError as e:
    status, location = e.code, e.headers.get("Location", "")
except OSError as e:
    status = str(e)
print(json.dumps({"address": address, "status": status, "location": location}), flush=True)
"""


def watcher(marker: str) -> subprocess.Popen:
    """Another local user (uid 65534) polling every process's command line for the address."""
    return subprocess.Popen(["/usr/bin/python3", "-c", WATCHER, marker], user=OTHER_UID, group=OTHER_UID,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")  # fmt: skip


def test_another_user_who_reads_the_browsers_command_line_gets_nothing_and_the_browser_gets_the_console(home, tmp_path):
    browser = chromium()
    tmp_path.chmod(0o755)  # the other user must be able to see the browser stand-in's path, nothing more
    gate, dom = tmp_path / "gate", tmp_path / "dom.html"
    gate.touch()
    held = os.open(gate, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # the browser waits until the other user has tried
    chromium_argv = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
    ]  # fmt: skip
    stand_in = tmp_path / "browser.py"
    stand_in.write_text(
        "import fcntl, subprocess, sys\n"
        f"out = open({str(dom)!r}, 'w')\n"
        "fcntl.flock(out, fcntl.LOCK_EX)\n"
        f"with open({str(gate)!r}) as gate:\n"
        "    fcntl.flock(gate, fcntl.LOCK_EX)\n"
        f"subprocess.run({chromium_argv!r} + [sys.argv[1]], stdout=out, stderr=subprocess.DEVNULL, timeout=120)\n"
        "out.flush()\n"
    )
    marker = f"browser-of-{tmp_path.name}"
    other = watcher(marker)
    run = subprocess.Popen(
        [TOOL, "console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(),
         "--browser", f"{sys.executable} {stand_in} {{url}} {marker}"],
        env=home.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        seen, trace = other.communicate(timeout=120)
        record = json.loads(seen)
        assert record["address"].startswith("http://127.0.0.1:"), trace
        assert record["status"] == 403 and record["location"] == "", record
    finally:
        os.close(held)  # now the user's own browser asks
        out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert out == ""
    assert "a process of another user (uid 65534) asked for the console's one-time address and was refused" in err
    assert "Opened the AWS console as " + signed_in_as(home) in err
    with open(dom) as page:
        fcntl.flock(page, fcntl.LOCK_EX)  # written once Chromium is done
        assert f"Signed in as {signed_in_as(home)}" in page.read()


def test_when_only_another_user_asks_console_says_nothing_was_signed_in(home, local_aws, tmp_path):
    tmp_path.chmod(0o755)
    marker = f"browser-of-{tmp_path.name}"
    other = watcher(marker)
    home.config.write_text(
        f"[profile prod]\nsession_role_arn = {ROLE}\nmfa_serial = {home.identity.serial}\n"
        "session_source_profile = default\n"
    )
    before = len(local_aws.sign_ins())
    result = home.run(
        "console", "-p", "prod", "--role", "TerraformRole", "--code", home.code(),
        "--browser", f"sh -c 'sleep 8' {{url}} {marker}", env={"TERRAFORM_SESSION_TOKEN_BROWSER_WAIT": "5"},
    )  # fmt: skip
    record = json.loads(other.communicate(timeout=60)[0])
    assert record["status"] == 403, record
    assert_one_line_failure(
        result, 2, "the browser did not ask for the sign-in page within 5 s, so nothing was signed in",
        "a process of another user (uid 65534) asked for it and was refused",
    )  # fmt: skip
    assert "Opened" not in result.stderr and len(local_aws.sign_ins()) == before
