"""Session policies, source identity and session tags, through the installed command and the local
AWS: what AssumeRole is sent, which session serves which profile, what is refused before any call,
and what the session's requests carry."""

from __future__ import annotations

import json
import os
import string

import pytest
from conftest import assert_one_line_failure

from local_aws import ACCOUNT
from terraform_session_token import policy

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
AUDITED = "AuditedRole"  # its trust policy allows sts:SetSourceIdentity and sts:TagSession, as `policy` prints it
AUDITED_ARN = f"arn:aws:iam::{ACCOUNT}:role/{AUDITED}"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
INLINE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::infrastructure-as-code/x"}],
}


@pytest.fixture
def audited(local_aws):
    if not any(r.name == AUDITED for r in local_aws._iam(ACCOUNT).roles.values()):
        trust = policy.trust_policy(ACCOUNT, source_identity=True, tags=True)
        local_aws.create_role(AUDITED, policy=json.dumps(trust))
    return AUDITED_ARN


def assume_roles(local_aws) -> list[dict]:
    return [r for r in local_aws.requests() if r["action"] == "AssumeRole"]


def test_each_option_is_sent_to_assume_role_as_given(home, local_aws, audited, tmp_path):
    document = tmp_path / "session.json"
    document.write_text(json.dumps(INLINE, indent=4))  # sent without the white space
    other = f"arn:aws:iam::{ACCOUNT}:policy/team/Deploy,Read"  # a comma in a policy name
    local_aws.reset_requests()
    result = home.run(
        "env", "-p", "all", "--role", audited, "--serial", home.identity.serial, "--code", home.code(),
        "--policy-arn", READ_ONLY, "--policy-arn", other, "--policy", f"file://{document}",
        "--source-identity", home.identity.user_name, "--tag", "Project=net work", "--tag", "Team=a=b",
        "--transitive-tag", "Project",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [sent] = assume_roles(local_aws)
    assert sent["params"] == {
        "PolicyArns": [READ_ONLY, other],
        "Policy": json.dumps(INLINE, separators=(",", ":")),
        "SourceIdentity": home.identity.user_name,
        "Tags": [("Project", "net work"), ("Team", "a=b")],
        "TransitiveTagKeys": ["Project"],
    }
    assert not sent["error"]


def test_a_plain_profile_sends_none_of_them(home, local_aws):
    local_aws.reset_requests()
    result = home.run("env", "-p", "plain", "--role", ROLE, "--serial", home.identity.serial, "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert assume_roles(local_aws)[0]["params"] == {
        "PolicyArns": [], "Policy": None, "SourceIdentity": None, "Tags": [], "TransitiveTagKeys": [],
    }  # fmt: skip


def configure_plan_and_apply(home, counter, *plan_options):
    mfa = ("--serial", home.identity.serial, "--mfa-process", home.mfa_process(counter), "--mfa-session")
    for profile, options in (("plan", ("--policy-arn", READ_ONLY, *plan_options)), ("apply", ())):
        result = home.run("configure", "-p", profile, "--role", ROLE, *mfa, *options)
        assert result.returncode == 0, result.stderr


def key_of(result) -> str:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["AccessKeyId"]


def test_a_narrowed_and_a_plain_profile_of_one_role_get_their_own_sessions_and_one_code(home, local_aws):
    counter = home.root / "codes"
    configure_plan_and_apply(home, counter)
    local_aws.reset_requests()
    plan, apply = (key_of(home.run("credential-process", "-p", p)) for p in ("plan", "apply"))
    assert plan != apply
    sent = {tuple(r["params"]["PolicyArns"]) for r in assume_roles(local_aws)}
    assert sent == {(READ_ONLY,), ()}
    # Each served again from its own cache, in either order, with no call.
    local_aws.reset_requests()
    for profile, expected in (("apply", apply), ("plan", plan), ("apply", apply)):
        assert key_of(home.run("credential-process", "-p", profile)) == expected
    assert local_aws.actions() == []
    assert home.codes_asked(counter) == 1, "the two profiles share one MFA session"


def test_a_one_off_narrowing_gets_its_own_session_and_never_answers_the_profile(home, local_aws):
    counter = home.root / "codes"
    configure_plan_and_apply(home, counter)
    apply = key_of(home.run("credential-process", "-p", "apply"))
    local_aws.reset_requests()
    one_off = home.run("env", "-p", "apply", "--policy-arn", READ_ONLY)
    assert one_off.returncode == 0, one_off.stderr
    assert apply not in one_off.stdout, "the profile's session is not the narrowed one"
    assert [r["params"]["PolicyArns"] for r in assume_roles(local_aws)] == [[READ_ONLY]]
    local_aws.reset_requests()
    again = key_of(home.run("credential-process", "-p", "apply"))
    assert again not in one_off.stdout and [r["params"]["PolicyArns"] for r in assume_roles(local_aws)] == [[]]
    assert home.codes_asked(counter) == 1


def test_the_plan_profiles_session_is_served_by_the_hot_path_and_never_to_apply(home, local_aws):
    from test_fastpath import imports

    counter = home.root / "codes"
    configure_plan_and_apply(home, counter)
    for _ in range(2):  # the first run remembers the role's ARN: the second records the files as they stay
        plan = key_of(home.run("credential-process", "-p", "plan"))
    fast, modules = imports(home, "credential-process", "-p", "plan")
    assert "argparse" not in modules and json.loads(fast)["AccessKeyId"] == plan
    local_aws.reset_requests()
    assert key_of(home.run("credential-process", "-p", "apply")) != plan
    assert [r["params"]["PolicyArns"] for r in assume_roles(local_aws)] == [[]]


def test_a_policy_file_named_in_the_config_is_read_on_every_call(home, local_aws, tmp_path):
    document = tmp_path / "plan.json"
    document.write_text(json.dumps(INLINE))
    home.config.write_text(
        f"[profile p]\nsession_role_arn = {ROLE}\nmfa_serial = {home.identity.serial}\nmfa_session = true\n"
        f"mfa_process = {home.mfa_process(home.root / 'codes')}\nsession_policy = file://{document}\n"
    )
    first = key_of(home.run("credential-process", "-p", "p"))
    assert key_of(home.run("credential-process", "-p", "p")) == first
    from test_fastpath import imports

    _, modules = imports(home, "credential-process", "-p", "p")
    assert "argparse" in modules, "the hot path can't see the file: the full path answers"
    changed = dict(INLINE, Statement=[dict(INLINE["Statement"][0], Action="s3:DeleteObject")])
    document.write_text(json.dumps(changed))
    local_aws.reset_requests()
    assert key_of(home.run("credential-process", "-p", "p")) != first, "a changed policy is a new session"
    assert json.loads(assume_roles(local_aws)[0]["params"]["Policy"]) == changed


def test_the_classic_flow_records_the_options_and_remembers_them_for_the_profile(home, local_aws):
    first = home.run("-p", "ro", "--role", ROLE, "--serial", home.identity.serial, "--code", home.code(),
                     "--policy-arn", READ_ONLY)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "Session options: narrowed to ReadOnlyAccess" in first.stdout
    assert "session_policy_arns" in first.stdout.split("Remembered in")[1].splitlines()[0]
    assert "session_narrowing = narrowed to ReadOnlyAccess (sha256 " in home.credentials.read_text()
    local_aws.reset_requests()
    again = home.run("-p", "ro")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    # Other options for the run: a new session, and the one replaced is named.
    other = home.run(
        "-p", "ro", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "--code", home.code()
    )
    assert other.returncode == 0, other.stderr
    assert "Note: it replaces a session narrowed to ReadOnlyAccess" in other.stdout
    assert "configure -p ro" in other.stdout
    # The same options for a one-off run: the classic session answers it.
    local_aws.reset_requests()
    served = home.run("env", "-p", "ro", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    assert served.returncode == 0 and local_aws.actions() == [], served.stderr


def test_status_and_doctor_show_the_session_options(home, local_aws, audited):
    counter = home.root / "codes"
    result = home.run(
        "configure", "-p", "aud", "--role", audited, "--serial", home.identity.serial, "--mfa-process",
        home.mfa_process(counter), "--policy-arn", READ_ONLY, "--source-identity", home.identity.user_name,
        "--tag", "Team=platform", "--transitive-tag", "Team",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert key_of(home.run("credential-process", "-p", "aud"))
    described = f"narrowed to ReadOnlyAccess, source identity {home.identity.user_name}, 1 session tag (1 transitive)"
    rows = json.loads(home.run("status", "--json").stdout)
    assert [r["session_options"] for r in rows if r["profile"] == "aud"] == [described]
    table = home.run("status").stdout
    assert "SESSION OPTIONS" in table and described in table and "platform" not in table, "never a tag's value"
    doctor = home.run("doctor", "-p", "aud")
    assert f"ok    session options: {described}" in doctor.stdout
    assert f"ok    {audited}'s trust policy allows sts:SetSourceIdentity" in doctor.stdout
    assert f"ok    {audited}'s trust policy allows sts:TagSession" in doctor.stdout
    plain = home.run("doctor", "-p", "aud", "--role", ROLE)
    assert f"FAIL  {ROLE}'s trust policy does not allow sts:SetSourceIdentity" in plain.stdout
    assert "policy --set-source-identity" in plain.stdout


def test_source_identity_and_tags_are_on_every_request_of_the_session(home, local_aws, audited):
    name = home.identity.user_name
    local_aws.reset_requests()
    script = "aws sts get-caller-identity && aws s3 ls s3://infrastructure-as-code && aws s3 ls"
    local_aws.create_state_backend("infrastructure-as-code", "terraform")
    result = home.run(
        "exec", "-p", "audit", "--role", audited, "--serial", home.identity.serial, "--code", home.code(),
        "--source-identity", name, "--tag", "Team=platform", "--tag", "Ticket=OPS-42", "--", "sh", "-c", script,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [assumed] = assume_roles(local_aws)
    session = json.loads((home.cache / "audit.json").read_text())["AccessKeyId"]
    signed = [r for r in local_aws.requests() if r["key"] == session]
    assert {r["service"] for r in signed} == {"sts", "s3"} and len(signed) >= 3
    for record in signed:
        assert record["source_identity"] == name, record
        assert record["principal_tags"] == {"Team": "platform", "Ticket": "OPS-42"}, record
    assert all("source_identity" not in r for r in local_aws.requests() if r["key"] == home.identity.access_key_id)


def test_a_trust_policy_without_set_source_identity_is_named_before_the_code(home, local_aws):
    local_aws.reset_requests()
    result = home.run("env", "-p", "si", "--role", "TerraformRole", "--serial", home.identity.serial,
                      "--source-identity", home.identity.user_name, "--code", "000000")  # fmt: skip
    assert_one_line_failure(
        result, 7, "its trust policy does not allow sts:SetSourceIdentity", "add sts:SetSourceIdentity to the Action",
        "policy --set-source-identity",
    )  # fmt: skip
    assert "AssumeRole" not in local_aws.actions(), "GetRole brought the trust policy: no code spent"


@pytest.mark.parametrize(
    ("option", "action"),
    [(("--source-identity", "someone"), "sts:SetSourceIdentity"), (("--tag", "Team=x"), "sts:TagSession")],
)
def test_aws_refusing_a_source_identity_or_tags_is_one_line_naming_what_to_add(home, local_aws, option, action):
    # A role given as an ARN: no GetRole, so AWS itself refuses.
    local_aws.reset_requests()
    result = home.run("env", "-p", "si", "--role", ROLE, "--serial", home.identity.serial, *option,
                      "--code", home.code())  # fmt: skip
    assert_one_line_failure(result, 7, f"{action} was not allowed", f"add {action} to the Action", "TerraformRole")
    assert [r["error"] for r in assume_roles(local_aws)] == ["AccessDenied"]


def test_aws_packing_too_much_is_one_line(home, local_aws, audited):
    import random

    rng = random.Random(28)
    alphabet = string.ascii_letters + string.digits
    tags = [f"k{n}=" + "".join(rng.choice(alphabet) for _ in range(256)) for n in range(50)]
    argv = [a for tag in tags for a in ("--tag", tag)]
    local_aws.reset_requests()
    result = home.run("env", "-p", "big", "--role", audited, "--serial", home.identity.serial,
                      "--code", home.code(), *argv)  # fmt: skip
    assert_one_line_failure(result, 2, "AWS refused the session policies and tags: packed, they take", "% of the room")
    assert [r["error"] for r in assume_roles(local_aws)] == ["PackedPolicyTooLarge"]


def big_policy(size: int) -> str:
    """A compact policy of exactly `size` characters."""
    text = json.dumps(dict(INLINE, Sid=""), separators=(",", ":"))
    return json.dumps(dict(INLINE, Sid="x" * (size - len(text))), separators=(",", ":"))


def arns(count: int) -> list[str]:
    return [a for n in range(count) for a in ("--policy-arn", f"arn:aws:iam::{ACCOUNT}:policy/p{n:02d}")]


def tag_flags(count: int) -> list[str]:
    return [a for n in range(count) for a in ("--tag", f"k{n}=v")]


HOSTILE = {
    "not an ARN": (["--policy-arn", "ReadOnlyAccess"], "is not a managed policy ARN"),
    "a role ARN": (["--policy-arn", ROLE], "is not a managed policy ARN"),
    "11 ARNs": (arns(11), "11 session policy ARNs: AWS takes at most 10"),
    "policy over 2,048": (["--policy", big_policy(2049)], "come to 2,049 characters: AWS takes at most 2,048"),
    "policy and ARNs over 2,048": (["--policy", big_policy(2013), *arns(1)], "come to 2,049 characters"),
    "policy not JSON": (["--policy", "{'Version': 1}"], "the policy is not JSON"),
    "policy not a document": (["--policy", '["s3:*"]'], "is not an IAM policy document"),
    "policy with a key twice": (["--policy", '{"Statement": [], "Statement": []}'], "has the key 'Statement' twice"),
    "policy file missing": (["--policy", "file:///nonexistent/plan.json"], "can't read /nonexistent/plan.json"),
    "policy nested without end": (["--policy", "[" * 100_000], "nested deeper than any IAM policy"),
    "policy file a FIFO": (["--policy", "file://FIFO"], "is a FIFO, not a file"),
    "policy file a directory": (["--policy", "file:///"], "is a directory"),
    "source identity too short": (["--source-identity", "a"], "is not a source identity AWS takes"),
    "source identity with a space": (["--source-identity", "alice smith"], "is not a source identity"),
    "source identity quoting a shell": (["--source-identity", "$(id)"], "is not a source identity"),
    "source identity too long": (["--source-identity", "a" * 65], "is not a source identity"),
    "source identity aws:": (["--source-identity", "aws:x"], "is not a source identity"),
    "tag without =": (["--tag", "Team"], "'Team' is not KEY=VALUE"),
    "tag with an empty key": (["--tag", "=x"], "is not KEY=VALUE"),
    "tag key aws:": (["--tag", "AWS:x=1"], "starts with aws:"),
    "tag key too long": (["--tag", "k" * 129 + "=v"], "has 129 characters; AWS takes at most 128"),
    "tag value too long": (["--tag", "k=" + "v" * 257], "has 257 characters; AWS takes at most 256"),
    "tag with a quote": (["--tag", "k='; rm -rf ~'"], "has a character AWS does not take"),
    "tag with a line separator": (["--tag", "k=a\u2028b"], "(U+2028)"),
    "tag with an escape": (["--tag", "k=\x1b[31m"], "(U+001B)"),
    "51 tags": (tag_flags(51), "51 session tags: AWS takes at most 50"),
    "tag keys differing in case": (["--tag", "Team=a", "--tag", "TEAM=b"], "are one key to AWS"),
    "transitive key without its tag": (["--tag", "a=b", "--transitive-tag", "Team"], "'Team' names no session tag"),
    "options without a role": (["--no-role", "--tag", "a=b"], "need a role"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_each_hostile_value_is_refused_before_any_call(home, local_aws, case):
    argv, needle = HOSTILE[case]
    if "file://FIFO" in argv:
        fifo = home.root / "plan.fifo"
        os.mkfifo(fifo)
        argv = [a.replace("FIFO", str(fifo)) for a in argv]
    local_aws.reset_requests()
    result = home.run("env", "-p", "h", "--role", ROLE, "--serial", home.identity.serial, "--code", "123456", *argv)
    assert_one_line_failure(result, 2, needle)
    assert "\x1b" not in result.stderr and "\u2028" not in result.stderr
    assert local_aws.actions() == [], "refused before any request"
    assert not (home.cache / "h.json").exists()


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        (
            "session_policy_arns",
            "arn:aws:iam::aws:policy/ReadOnlyAccess, ReadOnlyAccess",
            "is not a managed policy ARN",
        ),
        ("session_policy", "{not json", "the policy is not JSON"),
        ("source_identity", "a b", "is not a source identity"),
        ("session_tags", "Team=a, x", "'x' is not KEY=VALUE"),
        ("transitive_tag_keys", "Team", "names no session tag"),
    ],
)
def test_a_hostile_value_in_the_config_file_is_refused_naming_the_file(home, local_aws, key, value, needle):
    home.config.write_text(
        f"[profile c]\nsession_role_arn = {ROLE}\nmfa_serial = {home.identity.serial}\n{key} = {value}\n"
    )
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "c")
    assert_one_line_failure(result, 3, needle, f"{key} in [profile c] of {home.config}", "fix it there")
    assert local_aws.actions() == []


def test_the_limits_themselves_are_allowed(home, local_aws, audited):
    """At AWS's limits (2,048 characters of policy with the ARNs, 10 ARNs, 50 tags) the request goes."""
    policy_arns = [a for n in range(10) for a in ("--policy-arn", f"arn:aws:iam::{ACCOUNT}:policy/p{n}")]
    size = 2048 - sum(len(a) for a in policy_arns[1::2])
    local_aws.reset_requests()
    result = home.run(
        "env", "-p", "limits", "--role", audited, "--serial", home.identity.serial, "--code", home.code(),
        "--policy", big_policy(size), *policy_arns, *tag_flags(50),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [sent] = assume_roles(local_aws)
    assert len(sent["params"]["Policy"]) + sum(map(len, sent["params"]["PolicyArns"])) == 2048
    assert len(sent["params"]["Tags"]) == 50 and not sent["error"]


def test_configure_refuses_a_list_it_could_not_read_back(home):
    result = home.run("configure", "-p", "x", "--role", ROLE, "--tag", "Team=a ")
    assert_one_line_failure(result, 2, "can't be stored so that it reads back the same")
    assert not home.config.exists()


def test_policy_prints_the_plan_sessions_inline_policy(home):
    result = home.run("policy", "--plan-session", "--state-bucket", "infra", "--state-key", "net/terraform.tfstate")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # stdout is the document alone: --policy takes it as it is
    assert document == policy.plan_session_policy("infra", "net/terraform.tfstate")
    [statement] = document["Statement"]
    assert statement["Action"] == ["s3:PutObject", "s3:DeleteObject"]
    assert statement["Resource"] == [
        "arn:aws:s3:::infra/net/terraform.tfstate.tflock", "arn:aws:s3:::infra/env:/*/net/terraform.tfstate.tflock",
    ]  # fmt: skip
    assert "--policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess" in result.stderr
    locked = home.run(
        "policy", "--plan-session", "--state-bucket", "infra", "--state-key", "k", "--lock-table", "locks"
    )
    item = json.loads(locked.stdout)["Statement"][1]
    assert item["Action"] == ["dynamodb:PutItem", "dynamodb:DeleteItem"]
    assert item["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["infra/k", "infra/env:/*/k"]}}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--plan-session", "--state-bucket", "infra"], "needs --state-bucket and --state-key"),
        (["--plan-session", "--state-bucket", "infra", "--state-key", "*"], "is not a plain S3 key"),
        (["--plan-session", "--state-bucket", "infra", "--state-key", "a/${x}"], "is not a plain S3 key"),
        (["--plan-session", "--state-bucket", "In_fra", "--state-key", "k"], "is not an S3 bucket name"),
        (["--plan-session", "--state-bucket", "infra", "--state-key", "k", "--lock-table", "t*"], "is not a DynamoDB"),
        (["--plan-session", "--state-bucket", "infra", "--state-key", "k", "--format", "hcl"], "prints one JSON"),
        (["--state-bucket", "infra"], "go with --plan-session"),
    ],
)
def test_policy_refuses_a_plan_session_that_could_unlock_more(home, argv, needle):
    assert_one_line_failure(home.run("policy", *argv), 2, needle)


def test_policy_adds_what_source_identity_and_tags_need(home):
    import hcl2

    result = home.run("policy", "--account", ACCOUNT, "--set-source-identity", "--tag-session")
    assert result.returncode == 0, result.stderr
    group, trust = (json.loads(part) for part in result.stdout.replace("}\n{", "}\n\x00{").split("\x00"))
    assert trust["Statement"][0]["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    assert trust["Statement"][0]["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    own = next(s for s in group["Statement"] if s["Action"] == "sts:SetSourceIdentity")
    assert own["Condition"] == {"StringEquals": {"sts:SourceIdentity": "${aws:username}"}}, "only their own name"
    assert any(s["Action"] == "sts:TagSession" for s in group["Statement"])
    plain = json.loads(home.run("policy", "--account", ACCOUNT, "--document", "trust").stdout)
    assert plain["Statement"][0]["Action"] == "sts:AssumeRole", "nothing more unless asked"
    hcl = home.run("policy", "--account", ACCOUNT, "--format", "hcl", "--set-source-identity", "--tag-session")
    parsed = hcl2.loads(hcl.stdout)
    text = json.dumps(parsed)
    assert "sts:SetSourceIdentity" in text and "sts:TagSession" in text and "${aws:username}" in text


def test_what_configure_stores_is_read_by_the_aws_cli_and_the_go_sdk(home, local_aws, go_reader):
    """Terraform's SDK and the AWS CLI read the same config file: a policy with # ; [ ] = and quotes
    in it, and a tag with spaces, must not break their reading of the profile."""
    from conftest import go_identity

    tricky = dict(INLINE, Statement=[dict(INLINE["Statement"][0], Resource='arn:aws:s3:::b/#x;y [z] = "q"')])
    result = home.run(
        "configure", "-p", "tf", "--role", ROLE, "--serial", home.identity.serial,
        "--mfa-process", home.mfa_process(home.root / "codes"), "--mfa-session", "--policy", json.dumps(tricky),
        "--policy-arn", READ_ONLY, "--policy-arn", f"arn:aws:iam::{ACCOUNT}:policy/a,b",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    go = go_identity(go_reader, home, "tf")
    assert go.returncode == 0 and ":assumed-role/TerraformRole/" in go.stdout, go.stderr
    cli = home.aws_cli("sts", "get-caller-identity", "--profile", "tf")
    assert cli.returncode == 0 and ":assumed-role/TerraformRole/" in cli.stdout, cli.stderr
    sent = [r["params"] for r in assume_roles(local_aws)][-1]
    assert json.loads(sent["Policy"]) == tricky and sent["PolicyArns"] == [
        READ_ONLY,
        f"arn:aws:iam::{ACCOUNT}:policy/a,b",
    ]
