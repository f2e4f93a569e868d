"""`aws login` as the source identity: botocore's login provider (with its crt extra) against the
local sign-in service, which checks DPoP proofs and rotates refresh tokens as AWS does."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest
from conftest import TOOL, assert_one_line_failure, blocking, run_parallel

from local_aws import ACCOUNT, terraform

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
SOURCE = "dev-login"


def login_source(home, local_aws, **kwargs):
    """[profile dev-login] as `aws login` leaves it, its cache file, and a session profile on it."""
    home.credentials.unlink()  # no long-term keys anywhere: the point of aws login
    home.config.write_text(
        f"[profile {SOURCE}]\nlogin_session = {home.identity.arn}\nregion = us-east-1\n\n"
        f"[profile tf]\nsession_role_arn = {ROLE}\nsession_source_profile = {SOURCE}\n"
        f"credential_process = {TOOL} credential-process -p tf\n"
    )
    return local_aws.write_login_cache(home.identity, home.root, home.identity.arn, **kwargs)


def cache_file(home):
    [path] = (home.root / ".aws" / "login" / "cache").iterdir()
    return path


def refreshes(home, local_aws) -> list[dict]:
    """The refreshes of this test's login session (the local AWS serves a whole module)."""
    return [r for r in local_aws.login_refreshes() if r["arn"] == home.identity.arn]


def assume_role_keys(local_aws) -> list[str]:
    return [r["key"] for r in local_aws.requests() if r["action"] == "AssumeRole"]


def test_a_valid_login_signs_the_role_request_with_no_code_and_no_refresh(home, local_aws):
    login = login_source(home, local_aws)
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "tf")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    assert assume_role_keys(local_aws) == [login.issued[0]]
    assert refreshes(home, local_aws) == []
    assert "ListMFADevices" not in local_aws.actions()


def test_an_expired_access_token_is_refreshed_once_and_the_cache_rotated(home, local_aws):
    login = login_source(home, local_aws, expired=True)
    first_refresh_token = login.refresh_token
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "tf")
    assert result.returncode == 0, result.stderr
    [refresh] = refreshes(home, local_aws)
    assert refresh["old"] == login.issued[0] and refresh["new"] == login.issued[1]
    assert assume_role_keys(local_aws) == [login.issued[1]], "signed by the refreshed access key"
    cached = json.loads(cache_file(home).read_text())
    assert cached["refreshToken"] == login.refresh_token != first_refresh_token
    assert cached["accessToken"]["accessKeyId"] == login.issued[1]
    assert oct(cache_file(home).stat().st_mode & 0o777) == "0o600"
    # Once refreshed, another session for another profile needs no refresh.
    again = home.run("env", "-p", "tf2", "--source-profile", SOURCE, "--role", "TerraformRole")
    assert again.returncode == 0, again.stderr
    assert len(refreshes(home, local_aws)) == 1


def test_sixteen_parallel_cold_callers_make_one_refresh_and_one_assume_role(home, local_aws):
    login_source(home, local_aws, expired=True)
    local_aws.reset_requests()
    results = run_parallel([TOOL, "credential-process", "-p", "tf"], home.env, 16)
    assert all(code == 0 for _, _, code in results), [err for _, err, _ in results]
    assert len({json.loads(out)["AccessKeyId"] for out, _, _ in results}) == 1
    assert len(refreshes(home, local_aws)) == 1
    assert local_aws.actions().count("AssumeRole") == 1
    assert local_aws.actions().count("CreateOAuth2Token") == 1


def _token_request(endpoint: str, proof: str, refresh_token: str):
    body = json.dumps(
        {
            "clientId": "arn:aws:signin:::devtools/same-device",
            "grantType": "refresh_token",
            "refreshToken": refresh_token,
        }
    ).encode()
    request = urllib.request.Request(
        f"{endpoint}/v1/token", data=body, headers={"Content-Type": "application/json", "DPoP": proof}, method="POST"
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_sign_in_service_refuses_a_replayed_proof_a_stale_token_and_a_proof_for_another_url(home, local_aws):
    """So that no careless refresh can pass the tests: each rule the local sign-in applies, broken once."""
    from botocore.credentials import LoginCredentialFetcher, _build_dpop_header

    login = login_source(home, local_aws)
    token = json.loads(cache_file(home).read_text())
    key = LoginCredentialFetcher._load_private_key(token)
    url = f"{local_aws.endpoint}/v1/token"
    proof = _build_dpop_header(key, url)
    status, answer = _token_request(local_aws.endpoint, proof, login.refresh_token)
    assert status == 200 and answer["expiresIn"] == 900 and answer["refreshToken"] != token["refreshToken"]
    # The same proof again, with the new (current) refresh token: a replay.
    assert _token_request(local_aws.endpoint, proof, answer["refreshToken"]) == (
        400,
        {"error": "invalid_request", "message": "Invalid DPoP proof: jti was used before"},
    )
    # A fresh proof with the refresh token that was just rotated out.
    status, stale = _token_request(local_aws.endpoint, _build_dpop_header(key, url), token["refreshToken"])
    assert (status, stale["error"]) == (400, "invalid_grant")
    # A proof made for another URL.
    status, other = _token_request(local_aws.endpoint, _build_dpop_header(key, url + "x"), answer["refreshToken"])
    assert (status, other["error"]) == (400, "invalid_request") and "htu" in other["message"]
    # A proof signed by another key than the session's.
    from awscrt.crypto import EC, ECType

    stranger = EC.new_generate(ECType.P_256)
    status, foreign = _token_request(local_aws.endpoint, _build_dpop_header(stranger, url), answer["refreshToken"])
    assert (status, foreign["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("refusal", "hint"),
    [
        ("TOKEN_EXPIRED", "run: aws login --profile dev-login"),
        ("USER_CREDENTIALS_CHANGED", "run: aws login --profile dev-login"),
        ("INSUFFICIENT_PERMISSIONS", "SignInLocalDevelopmentAccess"),
    ],
)
def test_a_login_aws_no_longer_refreshes_is_one_line_saying_what_to_do(home, local_aws, refusal, hint):
    login = login_source(home, local_aws, expired=True)
    login.refuse = refusal
    secrets = json.loads(cache_file(home).read_text())
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "tf")
    assert_one_line_failure(result, 5, "aws login session of source profile [dev-login]", hint)
    for secret in (secrets["refreshToken"], secrets["accessToken"]["secretAccessKey"], secrets["dpopKey"][40:80]):
        assert secret not in result.stderr + result.stdout
    assert "AssumeRole" not in local_aws.actions()


def test_without_the_crt_extra_it_says_what_to_install_before_any_call(home, local_aws, tmp_path):
    login_source(home, local_aws, expired=True)
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "tf", env=blocking(tmp_path, "awscrt"))
    assert_one_line_failure(result, 11, "aws login session", "pip install 'terraform-session-token[login]'")
    assert local_aws.actions() == []


def test_mfa_session_and_long_durations_are_refused_before_any_call(home, local_aws):
    login_source(home, local_aws)
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "tf", "--mfa-session")
    assert_one_line_failure(result, 2, "mfa_session needs GetSessionToken", "long-term keys", "drop it")
    longer = home.run("env", "-p", "tf", "-d", "7200")
    assert_one_line_failure(longer, 2, "duration 7200 s is not possible", "aws login session")
    assert local_aws.actions() == []


def test_a_role_that_needs_mfa_from_a_login_without_it_says_to_set_mfa_serial(home, local_aws):
    login_source(home, local_aws, mfa=False)
    result = home.run("credential-process", "-p", "tf")
    assert_one_line_failure(result, 7, "AWS refused TerraformRole to the aws login session", "set mfa_serial")
    # With the device named, the code is asked and sent.
    home.config.write_text(home.config.read_text() + f"mfa_serial = {home.identity.serial}\n")
    result = home.run("credential-process", "-p", "tf", "--code", home.code())
    assert result.returncode == 0, result.stderr


def test_the_classic_flow_writes_the_session_with_a_login_source(home, local_aws):
    login = login_source(home, local_aws)
    result = home.run("--source-profile", SOURCE, "--role", "TerraformRole")
    assert result.returncode == 0, result.stderr
    assert "Code" not in result.stdout
    text = home.credentials.read_text()
    assert "[terraform_session]" in text and "aws_session_token" in text
    assert assume_role_keys(local_aws)[-1] == login.issued[0]


@pytest.mark.parametrize("version", terraform.VERSIONS)
def test_terraform_through_credential_process_with_a_login_source(home, local_aws, tmp_path, version):
    login_source(home, local_aws, expired=True)
    stack = terraform.prepare(local_aws, tmp_path / "stack", version, "tf", f"login-{version}/terraform.tfstate")
    env = terraform.environment(home.env, tmp_path)
    local_aws.reset_requests()
    prefix = terraform.command(version)
    for argv in (["init", "-no-color"], ["apply", "-auto-approve", "-no-color"]):
        done = subprocess.run(
            [*prefix, *argv], cwd=stack, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert 'vpc_id = "vpc-0123456789abcdef0"' in done.stdout
    session_key = json.loads((home.cache / "tf.json").read_text())["AccessKeyId"]
    data = [r for r in local_aws.requests() if r["service"] in ("s3", "dynamodb")]
    assert data and {r["key"] for r in data} == {session_key}
    assert local_aws.actions().count("AssumeRole") == 1
    assert len(refreshes(home, local_aws)) == 1


def test_status_lists_the_login_source_with_its_access_token_expiry(home, local_aws):
    login_source(home, local_aws)
    result = home.run("status")
    assert result.returncode == 0, result.stderr
    assert "aws login sources" in result.stdout
    line = next(line for line in result.stdout.splitlines() if line.startswith("[dev-login]"))
    assert home.identity.arn in line and ("14 min" in line or "15 min" in line)
    rows = json.loads(home.run("status", "--json").stdout)
    [row] = [r for r in rows if r["where"] == "aws login cache"]
    assert row["profile"] == SOURCE and 800 < row["seconds_left"] <= 900
    cache_file(home).unlink()
    gone = home.run("status")
    assert "not signed in: run aws login --profile dev-login" in gone.stdout


def test_doctor_checks_the_login_cache_and_the_extra_and_says_what_the_session_can_do(home, local_aws, tmp_path):
    login_source(home, local_aws)
    report = home.run("doctor", "-p", "tf")
    assert "FAIL" not in report.stdout, report.stdout
    assert "source [dev-login] is an aws login session" in report.stdout
    assert "for up to 12 h after 'aws login'" in report.stdout
    assert "without a code (the browser sign-in had your MFA)" in report.stdout
    assert "crt extra is installed" in report.stdout
    assert "refreshed without a code while the aws login lasts" in report.stdout
    assert "warn  mode" not in report.stdout
    assert "signs in for at most 1 h at a time (the role is chained from the aws login session)" in report.stdout
    without = home.run("doctor", "--offline", "-p", "tf", env=blocking(tmp_path, "awscrt"))
    assert (
        "FAIL  the source profile [dev-login] is an aws login session, which needs botocore's crt extra"
        in without.stdout
    )
    cache_file(home).unlink()
    missing = home.run("doctor", "--offline", "-p", "tf")
    assert "FAIL  source [dev-login] is an aws login session, but no login cache at" in missing.stdout
    assert "run: aws login --profile dev-login" in missing.stdout


def test_exec_and_console_work_from_a_login_source(home, local_aws):
    login_source(home, local_aws, expired=True)
    result = home.run(
        "exec", "-p", "tf", "--", "sh", "-c", 'test -n "$AWS_CONTAINER_CREDENTIALS_FULL_URI" && echo served'
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "served"
    console = home.run("console", "-p", "tf", "--print")
    assert console.returncode == 0, console.stderr
    # The local federation endpoint refuses a SessionDuration for a role assumed with session
    # credentials, as AWS does: the sign-in token came, so none was sent.
    assert "chained from an aws login session, so its console lasts at most 1 h" in console.stderr
    assert console.stdout.startswith(local_aws.endpoint)
    assert len(refreshes(home, local_aws)) == 1


def test_policy_names_the_managed_policy_aws_login_needs(home):
    result = home.run("policy", "--account", "123456789012", "--login")
    assert "SignInLocalDevelopmentAccess" in result.stderr and "signin:CreateOAuth2Token" in result.stderr
    hcl = home.run("policy", "--account", "123456789012", "--login", "--format", "hcl")
    assert 'policy_arn = "arn:aws:iam::aws:policy/SignInLocalDevelopmentAccess"' in hcl.stdout


def test_every_service_a_botocore_source_calls_has_its_model(home):
    """The tool's quick data loader lists services instead of scanning botocore's data: the ones
    botocore's own credential providers call (aws login, IAM Identity Center) must be among them."""
    import botocore.session

    from terraform_session_token.aws import connection

    session = botocore.session.Session()
    connection.install_loader(session)
    for service in ("signin", "sso", "sso-oidc", "sts", "iam"):
        assert session.create_client(service, region_name="us-east-1").meta.service_model.service_name == service
