"""The local AWS applies the rules moto lacks, over real HTTP with real botocore clients."""

from __future__ import annotations

import json
import time

import boto3
import pyotp
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core import enable_iam_authentication
from moto.iam.models import iam_backends

from local_aws import ACCOUNT, OTHER_ACCOUNT
from local_aws.model import CODE_MARGIN

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"


def client(local_aws, service, identity=None, creds=None):
    if creds:
        kwargs = dict(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    else:
        kwargs = dict(aws_access_key_id=identity.access_key_id, aws_secret_access_key=identity.secret_access_key)
    # Client-side validation off: the server's own checks are what is under test.
    config = Config(parameter_validation=False)
    return boto3.client(service, region_name="us-east-1", endpoint_url=local_aws.endpoint, config=config, **kwargs)


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_three_fresh_codes_in_a_row_are_distinct_and_each_stays_acceptable_for_the_margin(identity):
    """The tests' code source: three codes at once (all AWS accepts at a time) are distinct, and
    each is still within AWS's window CODE_MARGIN seconds later, so a run on a busy machine can't
    send one that expired in flight (the previous step's code, handed out late in a step, did)."""
    codes = [identity.fresh_code() for _ in range(3)]
    later = time.time() + CODE_MARGIN - 0.5
    assert len(set(codes)) == 3
    for code in codes:
        assert pyotp.TOTP(identity.seeds[identity.serial]).verify(code, for_time=later, valid_window=1), code


def test_current_totp_is_accepted_once(local_aws, identity):
    sts = client(local_aws, "sts", identity)
    code = identity.fresh_code()
    creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="tt", SerialNumber=identity.serial, TokenCode=code)
    arn = client(local_aws, "sts", creds=creds["Credentials"]).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/TerraformRole/tt"
    code_, message = error_of(
        sts.assume_role, RoleArn=ROLE, RoleSessionName="tt", SerialNumber=identity.serial, TokenCode=code
    )
    assert (code_, message.strip()) == (
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    )


def test_wrong_code_and_missing_mfa_are_refused(local_aws, identity):
    sts = client(local_aws, "sts", identity)
    wrong = next(c for c in ("000000", "111111", "222222") if c not in {identity.totp(offset=k) for k in (-1, 0, 1)})
    assert (
        error_of(sts.assume_role, RoleArn=ROLE, RoleSessionName="tt", SerialNumber=identity.serial, TokenCode=wrong)[0]
        == "AccessDenied"
    )
    code, message = error_of(sts.assume_role, RoleArn=ROLE, RoleSessionName="tt")
    assert code == "AccessDenied" and "not authorized to perform: sts:AssumeRole" in message
    # A role whose trust policy does not ask for MFA can be assumed without it.
    sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/NoMfaRole", RoleSessionName="tt")


def test_another_users_device_is_refused(local_aws, identity):
    other = local_aws.new_identity()
    code, message = error_of(
        client(local_aws, "sts", identity).assume_role,
        RoleArn=ROLE,
        RoleSessionName="tt",
        SerialNumber=other.serial,
        TokenCode=other.totp(),
    )
    assert code == "AccessDenied" and "MultiFactorAuthentication failed" in message


def test_nonexistent_role_is_refused(local_aws, identity):
    code, message = error_of(
        client(local_aws, "sts", identity).assume_role,
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Missing",
        RoleSessionName="tt",
        SerialNumber=identity.serial,
        TokenCode=identity.fresh_code(),
    )
    assert code == "AccessDenied" and "role/Missing" in message


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (7200, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
        (899, "Member must have value greater than or equal to 900"),
        (43201, "Member must have value less than or equal to 43200"),
    ],
)
def test_durations_are_checked_before_the_code_is_spent(local_aws, identity, duration, text):
    sts = client(local_aws, "sts", identity)
    code = identity.fresh_code()
    error = error_of(
        sts.assume_role,
        RoleArn=ROLE,
        RoleSessionName="tt",
        SerialNumber=identity.serial,
        TokenCode=code,
        DurationSeconds=duration,
    )
    assert error[0] == "ValidationError" and error[1].endswith(text)
    sts.assume_role(RoleArn=ROLE, RoleSessionName="tt", SerialNumber=identity.serial, TokenCode=code)


def test_get_session_token_acts_as_the_user_and_chaining_is_capped(local_aws, identity):
    sts = client(local_aws, "sts", identity)
    session = sts.get_session_token(SerialNumber=identity.serial, TokenCode=identity.fresh_code())["Credentials"]
    assert session["AccessKeyId"] != "AKIAIOSFODNN7EXAMPLE"  # not moto's fixed keys
    as_user = client(local_aws, "sts", creds=session)
    assert as_user.get_caller_identity()["Arn"] == identity.arn
    # MFA carried by the session satisfies the trust policy; more than an hour is role chaining.
    assert error_of(
        as_user.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/LongRole", RoleSessionName="tt", DurationSeconds=7200
    )[1].endswith("for roles assumed by role chaining.")
    role = as_user.assume_role(RoleArn=ROLE, RoleSessionName="tt")["Credentials"]
    assert error_of(client(local_aws, "sts", creds=role).get_session_token)[0] == "AccessDenied"


def test_session_token_duration_bounds(local_aws, identity):
    sts = client(local_aws, "sts", identity)
    assert error_of(sts.get_session_token, DurationSeconds=129601)[0] == "ValidationError"
    assert error_of(sts.get_session_token, DurationSeconds=899)[0] == "ValidationError"


def test_cross_account_role(local_aws, identity):
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/TerraformRole"
    creds = client(local_aws, "sts", identity).assume_role(
        RoleArn=role, RoleSessionName="x1", SerialNumber=identity.serial, TokenCode=identity.fresh_code()
    )["Credentials"]
    arn = client(local_aws, "sts", creds=creds).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/TerraformRole/x1"


def test_unknown_and_expired_keys_are_refused(local_aws, identity):
    stranger = type(identity)(ACCOUNT, "nobody", "AKIANOTAREALKEY00000", "secret")
    assert error_of(client(local_aws, "sts", stranger).get_caller_identity)[0] == "InvalidClientTokenId"
    session = client(local_aws, "sts", identity).get_session_token()["Credentials"]
    local_aws.expire(session["AccessKeyId"])
    assert error_of(client(local_aws, "sts", creds=session).get_caller_identity)[0] == "ExpiredToken"


def test_list_mfa_devices_defaults_to_the_caller_and_requests_are_counted(local_aws, identity):
    local_aws.reset_requests()
    devices = client(local_aws, "iam", identity).list_mfa_devices()["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [identity.serial]
    assert local_aws.actions() == ["ListMFADevices"]


def test_injected_faults(local_aws, identity):
    local_aws.inject_fault(400, "Throttling", "Rate exceeded")
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=local_aws.endpoint,
        aws_access_key_id=identity.access_key_id,
        aws_secret_access_key=identity.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert error_of(sts.get_caller_identity) == ("Throttling", "Rate exceeded")
    assert sts.get_caller_identity()["Arn"] == identity.arn


def test_with_iam_policies_enforced_s3_requests_need_the_iam_actions_aws_documents(local_aws, identity):
    """The permissions Terraform's S3 backend documents (s3:ListBucket on the bucket, s3:GetObject
    and s3:PutObject on the state) let it HEAD, list, read and write the state, as on AWS, whatever
    the API operation is called; an action the policy does not grant is refused."""
    bucket, key = "iam-checked-state", "env/terraform.tfstate"
    local_aws.create_state_backend(bucket, "iam-checked-lock")
    local_aws.put_object(bucket, key, b"{}")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/*"},
        ],
    }
    iam_backends[ACCOUNT]["global"].put_user_policy(identity.user_name, "state", json.dumps(policy))
    s3 = client(local_aws, "s3", identity)
    with enable_iam_authentication():
        s3.head_bucket(Bucket=bucket)  # s3:ListBucket
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 2  # s3:GetObject
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]  # s3:ListBucket
        assert [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == [key]
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"serial": 2}')
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b'{"serial": 2}'
        assert error_of(s3.delete_object, Bucket=bucket, Key=key)[0] == "AccessDenied"  # s3:DeleteObject
        assert error_of(s3.list_object_versions, Bucket=bucket)[0] == "AccessDenied"  # s3:ListBucketVersions
        assert error_of(s3.get_object, Bucket=bucket, Key=key, VersionId="null")[0] == "AccessDenied"
