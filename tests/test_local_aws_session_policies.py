"""The local AWS does with session policies, source identity and session tags what AWS does: checks
them, keeps them on the session through a role chain, and judges S3 and DynamoDB requests by the
intersection of the role's policies and the session's (real HTTP, real botocore clients)."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from test_local_aws import client, error_of

from local_aws import ACCOUNT, iam

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
BUCKET, TABLE = "session-policies", "locks"


def trust(*actions: str, mfa: bool = True) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": list(actions)}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def role(local_aws, name: str, policy: str, permissions=iam.ADMINISTRATOR) -> str:
    arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    if not any(r.arn == arn for r in local_aws._iam(ACCOUNT).roles.values()):
        local_aws.create_role(name, policy=policy, permissions=permissions)
    return arn


@pytest.fixture
def audited(local_aws):
    local_aws.create_state_backend(BUCKET, TABLE)
    return role(local_aws, "SessionAudited", trust("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"))


def assume(local_aws, identity, role_arn, **params):
    sts = client(local_aws, "sts", identity)
    answer = sts.assume_role(
        RoleArn=role_arn, RoleSessionName="tt", SerialNumber=identity.serial, TokenCode=identity.fresh_code(), **params
    )
    return answer


def s3_of(local_aws, creds):
    import boto3

    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=local_aws.endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(s3={"addressing_style": "path"}),
    )


def test_a_read_only_session_reads_and_is_refused_writes_in_aws_words(local_aws, identity, audited):
    local_aws.put_object(BUCKET, "state", b"{}")
    answer = assume(local_aws, identity, audited, PolicyArns=[{"arn": READ_ONLY}])
    assert 0 < answer["PackedPolicySize"] <= 100
    s3 = s3_of(local_aws, answer["Credentials"])
    assert s3.get_object(Bucket=BUCKET, Key="state")["Body"].read() == b"{}"
    assert s3.head_object(Bucket=BUCKET, Key="state")["ContentLength"] == 2  # HeadObject is s3:GetObject
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["state"]
    code, message = error_of(s3.put_object, Bucket=BUCKET, Key="state", Body=b"x")
    assert code == "AccessDenied"
    assert message == (
        f"User: {answer['AssumedRoleUser']['Arn']} is not authorized to perform: s3:PutObject on resource: "
        f'"arn:aws:s3:::{BUCKET}/state" because no session policy allows the s3:PutObject action'
    )
    assert error_of(s3.delete_object, Bucket=BUCKET, Key="state")[0] == "AccessDenied"
    assert local_aws.get_object(BUCKET, "state") == b"{}"
    dynamodb = client(local_aws, "dynamodb", creds=answer["Credentials"])
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": "x"}})
    code, message = error_of(dynamodb.put_item, TableName=TABLE, Item={"LockID": {"S": "x"}})
    assert code == "AccessDeniedException" and "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:" in message


def test_the_lock_policy_allows_this_states_lock_item_and_no_other(local_aws, identity, audited):
    from terraform_session_token import policy

    inline = json.dumps(policy.plan_session_policy(BUCKET, "a/terraform.tfstate", TABLE))
    creds = assume(local_aws, identity, audited, PolicyArns=[{"arn": READ_ONLY}], Policy=inline)["Credentials"]
    dynamodb = client(local_aws, "dynamodb", creds=creds)
    for lock in (f"{BUCKET}/a/terraform.tfstate", f"{BUCKET}/env:/dev/a/terraform.tfstate"):
        dynamodb.put_item(TableName=TABLE, Item={"LockID": {"S": lock}, "Info": {"S": "{}"}})
        dynamodb.delete_item(TableName=TABLE, Key={"LockID": {"S": lock}})
    for other in (f"{BUCKET}/a/terraform.tfstate-md5", f"{BUCKET}/b/terraform.tfstate"):
        assert error_of(dynamodb.put_item, TableName=TABLE, Item={"LockID": {"S": other}})[0] == "AccessDeniedException"
    s3 = s3_of(local_aws, creds)
    s3.put_object(Bucket=BUCKET, Key="a/terraform.tfstate.tflock", Body=b"{}")
    s3.delete_object(Bucket=BUCKET, Key="a/terraform.tfstate.tflock")
    for key in ("a/terraform.tfstate", "b/terraform.tfstate.tflock"):
        assert error_of(s3.put_object, Bucket=BUCKET, Key=key, Body=b"{}")[0] == "AccessDenied"


def test_an_explicit_deny_in_a_session_policy_wins(local_aws, identity, audited):
    local_aws.put_object(BUCKET, "secret/key", b"s")
    local_aws.put_object(BUCKET, "open/key", b"o")
    deny = {"Effect": "Deny", "Action": "s3:GetObject*", "Resource": f"arn:aws:s3:::{BUCKET}/secret/*"}
    everything = {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [everything, deny]})
    s3 = s3_of(local_aws, assume(local_aws, identity, audited, Policy=document)["Credentials"])
    assert s3.get_object(Bucket=BUCKET, Key="open/key")["Body"].read() == b"o"
    assert error_of(s3.get_object, Bucket=BUCKET, Key="secret/key")[1].endswith(
        "with an explicit deny in a session policy"
    )
    s3.put_object(Bucket=BUCKET, Key="open/new", Body=b"n")
    assert error_of(s3.delete_object, Bucket=BUCKET, Key="open/new")[0] == "AccessDenied"


def test_a_session_policy_never_grants_more_than_the_role(local_aws, identity):
    local_aws.create_state_backend(BUCKET, TABLE)
    reader = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    )
    narrow = role(local_aws, "SessionReader", trust("sts:AssumeRole"), permissions=reader)
    anything = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    s3 = s3_of(local_aws, assume(local_aws, identity, narrow, Policy=anything)["Credentials"])
    assert error_of(s3.put_object, Bucket=BUCKET, Key="x", Body=b"x")[1].endswith(
        "because no identity-based policy allows the s3:PutObject action"
    )
    bare = role(local_aws, "SessionNothing", trust("sts:AssumeRole"), permissions=None)
    s3 = s3_of(local_aws, assume(local_aws, identity, bare)["Credentials"])
    assert error_of(s3.list_objects_v2, Bucket=BUCKET)[0] == "AccessDenied", "a role with no policy may do nothing"


def test_source_identity_and_tags_need_the_trust_policy_to_allow_them(local_aws, identity, audited):
    plain = role(local_aws, "SessionPlain", trust("sts:AssumeRole"))
    sts = client(local_aws, "sts", identity)
    for params, action in (
        ({"SourceIdentity": "alice"}, "sts:SetSourceIdentity"),
        ({"Tags": [{"Key": "a", "Value": "b"}]}, "sts:TagSession"),
    ):
        code, message = error_of(
            sts.assume_role, RoleArn=plain, RoleSessionName="tt", SerialNumber=identity.serial,
            TokenCode=identity.fresh_code(), **params,
        )  # fmt: skip
        assert (code, message) == (
            "AccessDenied",
            f"User: {identity.arn} is not authorized to perform: {action} on resource: {plain}",
        )
    answer = assume(local_aws, identity, audited, SourceIdentity="alice", Tags=[{"Key": "a", "Value": "b"}])
    assert answer["SourceIdentity"] == "alice"


def test_a_chain_keeps_the_source_identity_and_the_transitive_tags(local_aws, identity, audited):
    next_role = role(
        local_aws, "SessionChained", trust("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession", mfa=False)
    )
    plain = role(local_aws, "SessionChainedPlain", trust("sts:AssumeRole", mfa=False))
    first = assume(
        local_aws, identity, audited, SourceIdentity="alice", TransitiveTagKeys=["Team"],
        Tags=[{"Key": "Team", "Value": "platform"}, {"Key": "Ticket", "Value": "OPS-1"}],
    )["Credentials"]  # fmt: skip
    sts = client(local_aws, "sts", creds=first)
    code, message = error_of(sts.assume_role, RoleArn=next_role, RoleSessionName="tt", SourceIdentity="bob")
    assert code == "AccessDenied" and "sts:SetSourceIdentity" in message, "set once, it can't change"
    code, message = error_of(sts.assume_role, RoleArn=plain, RoleSessionName="tt")
    assert code == "AccessDenied" and "sts:SetSourceIdentity" in message, (
        "it passes on, so the next trust must allow it"
    )
    code, _ = error_of(sts.assume_role, RoleArn=next_role, RoleSessionName="tt", Tags=[{"Key": "TEAM", "Value": "x"}])
    assert code == "InvalidParameterValue", "a transitive tag can't be replaced"
    second = sts.assume_role(RoleArn=next_role, RoleSessionName="tt", SourceIdentity="alice")
    assert second["SourceIdentity"] == "alice"
    local_aws.reset_requests()
    client(local_aws, "sts", creds=second["Credentials"]).get_caller_identity()
    [record] = local_aws.requests()
    assert record["source_identity"] == "alice" and record["principal_tags"] == {"Team": "platform"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"PolicyArns": [{"arn": f"arn:aws:iam::aws:policy/P{n}"} for n in range(11)]}, "ValidationError"),
        ({"Policy": json.dumps({"Statement": [], "Sid": "x" * 2040})}, "ValidationError"),
        ({"Policy": '{"Statement": [}'}, "MalformedPolicyDocument"),
        (
            {"Policy": json.dumps({"Statement": []}), "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/" + "p" * 2020}]},
            "ValidationError",
        ),
        ({"SourceIdentity": "alice smith"}, "ValidationError"),
        ({"SourceIdentity": "a"}, "ValidationError"),
        ({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]}, "InvalidParameterValue"),
        ({"Tags": [{"Key": "aws:a", "Value": "1"}]}, "InvalidParameterValue"),
        ({"Tags": [{"Key": f"k{n}", "Value": "v"} for n in range(51)]}, "ValidationError"),
        ({"Tags": [{"Key": "k", "Value": "v" * 257}]}, "ValidationError"),
        ({"Tags": [{"Key": "k", "Value": "a;b"}]}, "ValidationError"),
        ({"Tags": [{"Key": "k", "Value": "v"}], "TransitiveTagKeys": ["j"]}, "InvalidParameterValue"),
    ],
)
def test_values_aws_refuses_are_refused(local_aws, identity, audited, params, code):
    sts = client(local_aws, "sts", identity)  # botocore's own checks off: the server's are under test
    assert error_of(sts.assume_role, RoleArn=audited, RoleSessionName="tt", **params)[0] == code


def test_too_much_to_pack_is_packed_policy_too_large(local_aws, identity, audited):
    import random

    rng = random.Random(7)
    tags = [{"Key": f"k{n}", "Value": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(256))}
            for n in range(50)]  # fmt: skip
    sts = client(local_aws, "sts", identity)
    code, message = error_of(
        sts.assume_role, RoleArn=audited, RoleSessionName="tt", Tags=tags, SerialNumber=identity.serial,
        TokenCode=identity.fresh_code(),
    )  # fmt: skip
    assert code == "PackedPolicyTooLarge" and message.startswith("Packed size of session tags consumes")


@pytest.mark.parametrize(
    ("method", "path", "query", "action", "resource"),
    [
        ("HEAD", "/b/k", {}, "s3:GetObject", "arn:aws:s3:::b/k"),
        ("GET", "/b/k", {"versionId": ["1"]}, "s3:GetObjectVersion", "arn:aws:s3:::b/k"),
        ("PUT", "/b/k%3Ax", {}, "s3:PutObject", "arn:aws:s3:::b/k:x"),
        ("PUT", "/b/k", {"partNumber": ["1"], "uploadId": ["u"]}, "s3:PutObject", "arn:aws:s3:::b/k"),
        ("DELETE", "/b/k", {"uploadId": ["u"]}, "s3:AbortMultipartUpload", "arn:aws:s3:::b/k"),
        ("GET", "/b", {"list-type": ["2"], "prefix": ["env:/"]}, "s3:ListBucket", "arn:aws:s3:::b"),
        ("GET", "/b", {"versioning": [""]}, "s3:GetBucketVersioning", "arn:aws:s3:::b"),
        ("GET", "/b", {"versions": [""]}, "s3:ListBucketVersions", "arn:aws:s3:::b"),
        ("PUT", "/b", {}, "s3:CreateBucket", "arn:aws:s3:::b"),
        ("GET", "/", {}, "s3:ListAllMyBuckets", "*"),
    ],
)
def test_s3_requests_are_judged_by_awss_iam_action_names(method, path, query, action, resource):
    from local_aws import s3

    assert s3.iam_request(method, path, query, {}) == (action, resource)


def test_conditions_the_evaluation_knows_and_those_it_does_not():
    def allow(condition):
        return [{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}}]

    leading = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["b/k", "b/env:/*/k"]}}
    assert iam.decide(allow(leading), "dynamodb:PutItem", "t", {"dynamodb:LeadingKeys": ["b/env:/dev/k"]}) == "Allow"
    assert iam.decide(allow(leading), "dynamodb:PutItem", "t", {"dynamodb:LeadingKeys": ["b/k-md5"]}) is None
    any_value = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Team"]}}
    assert iam.decide(allow(any_value), "x:y", "r", {}) is None
    assert iam.decide(
        allow({"StringEquals": {"aws:SourceIdentity": "alice"}}), "x:y", "r", {"aws:SourceIdentity": "alice"}
    )
    unknown = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    assert iam.decide(allow(unknown), "x:y", "r", {}) is None, "an Allow with an unknown operator does not apply"
    deny = [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                           {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": unknown}]}]  # fmt: skip
    assert iam.decide(deny, "x:y", "r", {}) == "Deny", "a Deny with an unknown operator does"
    assert iam.decide(allow({}), "S3:GETOBJECT", "r", {}) == "Allow", "actions ignore case"
    resource = [{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::B/*"}}]
    assert iam.decide(resource, "s3:GetObject", "arn:aws:s3:::b/k", {}) is None, "resources do not"
