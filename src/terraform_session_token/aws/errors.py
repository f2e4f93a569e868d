"""botocore's and AWS's failures as the tool's one-line errors, and the checks that an answer came
from AWS at all (a captive portal or a proxy answers too)."""

from __future__ import annotations

import re

import botocore.exceptions

from ..errors import (
    AwsError,
    ConfigError,
    CredentialsError,
    ExtraMissing,
    MfaError,
    NetworkError,
    RoleError,
    ToolError,
    UsageError,
)
from ..profiles import Settings
from ..sessions import Session

NOT_AWS_HINT = "check --endpoint-url / AWS_ENDPOINT_URL, and any proxy or captive portal in between"
_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: anything else is not from AWS


def field(response, *path):
    """A field of an answer; an answer without it did not come from AWS (a portal, a proxy)."""
    value = response
    try:
        for key in path:
            value = value[key]
    except (KeyError, TypeError):
        raise NetworkError(
            "the endpoint's answer is not an AWS response (it lacks " + ".".join(path) + ")",
            NOT_AWS_HINT,
        )
    return value


def session_from(creds: dict, arn: str, region: str) -> Session:
    """STS's Credentials as a Session, refused when they are not of AWS's shape."""
    fields = (creds.get("AccessKeyId"), creds.get("SecretAccessKey"), creds.get("SessionToken"))
    expiration = creds.get("Expiration")
    if (
        not all(isinstance(v, str) for v in fields)
        or not _KEY_ID.fullmatch(fields[0])
        or not all(TOKEN.fullmatch(v) for v in fields[1:])
        or not hasattr(expiration, "tzinfo")
        or (arn and not TOKEN.fullmatch(arn))
    ):
        raise NetworkError(
            "the endpoint answered with credentials that are not AWS's (malformed key, secret or expiry)",
            NOT_AWS_HINT,
        )
    return Session(
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
        creds["Expiration"],
        arn,
        region,
    )


def translate(error: Exception, settings: Settings, operation: str = "") -> ToolError:
    """One AWS or botocore failure as the project's error with a hint."""
    e = botocore.exceptions
    source = settings.source_profile
    if isinstance(error, e.ClientError):
        return _client_error(error, settings, operation)
    login_error = getattr(e, "LoginError", None)
    if login_error is not None and isinstance(error, login_error):
        return login_failure(error, settings)
    if isinstance(error, e.MissingDependencyException):
        return ExtraMissing(
            f"the source profile [{source}] needs an optional extra: {error}",
            "pip install 'terraform-session-token[login]', which brings botocore[crt]",
        )
    if isinstance(error, e.ProfileNotFound):
        return CredentialsError(
            f"source profile [{source}] not found in the credentials or config file",
            f"create it with: aws configure --profile {source}, or pass --source-profile",
        )
    if isinstance(error, e.NoCredentialsError):
        return CredentialsError(
            f"no AWS keys found for source profile [{source}]", f"add them with: aws configure --profile {source}"
        )
    if isinstance(error, e.PartialCredentialsError):
        return CredentialsError(f"source profile [{source}] has incomplete keys", "it needs both key id and secret")
    if isinstance(error, e.SSLError):
        return NetworkError(
            "TLS certificate verification failed",
            "if a proxy inspects TLS, pass its CA with --ca-bundle PATH or AWS_CA_BUNDLE",
        )
    if isinstance(error, (e.ProxyConnectionError,)):
        return NetworkError("can't connect through the proxy", "check HTTPS_PROXY / NO_PROXY")
    if isinstance(
        error,
        (e.EndpointConnectionError, e.ConnectTimeoutError, e.ReadTimeoutError, e.ConnectionError, e.HTTPClientError),
    ):
        url = getattr(error, "kwargs", {}).get("endpoint_url", "") or settings.endpoint_url or "the AWS endpoint"
        return NetworkError(
            f"can't reach {url}",
            "check the network, proxy and DNS, or --endpoint-url / AWS_ENDPOINT_URL",
        )
    if isinstance(error, (e.ConfigParseError, e.InvalidConfigError)):
        return ConfigError(f"botocore can't use the AWS config: {error}", "fix the file")
    if isinstance(error, e.UnknownEndpointError):
        return UsageError(f"unknown region or endpoint: {error}", "check --region")
    if isinstance(error, e.ParamValidationError):
        return UsageError(f"invalid request: {error}".replace("\n", " "), "check the flags")
    return AwsError(f"{type(error).__name__}: {error}", "run again with --debug for details")


def _client_error(error, settings: Settings, operation: str) -> ToolError:
    """AWS's refusal of one request (an error code and message in the answer)."""
    source = settings.source_profile
    err = error.response.get("Error", {})
    code, message = err.get("Code", ""), err.get("Message", "")
    if "MultiFactorAuthentication failed" in message and "invalid MFA one time pass code" in message:
        return MfaError(
            "AWS rejected the MFA code",
            "codes change every 30 s and each is accepted once: wait for the next code and run again",
        )
    if "MultiFactorAuthentication failed" in message:
        return MfaError(
            "AWS did not accept the MFA device for this user", "check --serial / mfa_serial: it must be your device"
        )
    if code == "AccessDenied" and ("sts:SetSourceIdentity" in message or "sts:TagSession" in message):
        return _session_permission_denied(settings, message)
    if code == "PackedPolicyTooLarge":
        percent = re.search(r"([0-9]+)%", message)
        return _narrowing_error(
            settings,
            "AWS refused the session policies and tags: packed, they take "
            + (f"{percent.group(1)}% of the room AWS allows" if percent else "more room than AWS allows"),
            "AWS packs the inline policy, policy ARNs and tags together and does not publish that limit: "
            "shorten the inline policy or the tags, or pass fewer",
        )
    if code == "MalformedPolicyDocument":
        return _narrowing_error(
            settings, f"AWS refused the inline session policy: {message}".rstrip(": "), "fix the policy document"
        )
    if code == "AccessDenied" and "sts:AssumeRole" in message:
        return RoleError(
            f"not allowed to assume {settings.role or 'the role'}",
            "the role may not exist, or its trust policy does not allow you or requires MFA; "
            "see: terraform-session-token policy",
        )
    if code == "ValidationError" and "MaxSessionDuration" in message:
        return RoleError(
            "the duration is above the role's maximum session duration",
            "use a smaller -d, or raise the role's MaxSessionDuration",
        )
    if code == "ValidationError" and "role chaining" in message:
        return RoleError(
            "AWS caps a role assumed with session credentials at 1 hour (role chaining)",
            "use -d 3600 or less",
        )
    if code == "ValidationError" and "durationSeconds" in message:
        return UsageError("AWS refused the duration: " + message, "use -d between 900 and 43200")
    if code == "NoSuchEntity" and operation == "list_mfa_devices":
        return CredentialsError(
            f"IAM does not know the user of source profile [{source}] (NoSuchEntity)",
            "the keys may belong to a deleted user; check them with: aws sts get-caller-identity",
        )
    if code == "NoSuchEntity":
        return RoleError(
            f"role {settings.role or ''} does not exist in the source account".replace("  ", " "),
            "check the name, or pass the full role ARN with --role",
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch") and "expired" not in message.lower():
        return CredentialsError(
            f"AWS did not accept the keys of source profile [{source}]",
            f"check them with: aws configure --profile {source}",
        )
    if code in ("ExpiredToken", "ExpiredTokenException"):
        return CredentialsError(
            f"the credentials of source profile [{source}] have expired",
            "refresh them, or use long-term keys as the source",
        )
    if code in ("RequestExpired", "RequestTimeTooSkewed") or "Signature expired" in message:
        return AwsError(
            "AWS says this machine's clock is wrong (request time too skewed)",
            "sync the clock, e.g. sudo timedatectl set-ntp true",
        )
    if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"):
        return AwsError("AWS is throttling requests", "wait a minute and run again")
    if code == "AccessDenied" and operation in ("list_mfa_devices", "get_role"):
        action = {"list_mfa_devices": "iam:ListMFADevices", "get_role": "iam:GetRole"}[operation]
        return CredentialsError(
            f"the source profile [{source}] may not call {action}",
            "pass --serial and a full role ARN with --role, or grant it; see: terraform-session-token policy",
        )
    return AwsError(f"AWS refused {operation or 'the request'}: {code}: {message}".rstrip(": "), "")


def _narrowing_error(settings: Settings, message: str, hint: str) -> ToolError:
    """A refusal of what the session options asked for: exit 2 when any came from a flag, 3 from the file."""
    from ..options import NARROWING

    origins = [settings.origins.get(name, "") for name in NARROWING]
    if "flag" in origins or not any(o.startswith("config") for o in origins):
        return UsageError(message, hint)
    return ConfigError(message, f"{hint}; they are set in [profile {settings.profile}] of the config file")


def _session_permission_denied(settings: Settings, message: str) -> ToolError:
    """AccessDenied for sts:SetSourceIdentity or sts:TagSession: the role's trust policy (and, for a
    role of the same account, the users' own policy) must allow the action too; and a source
    identity set earlier in a role chain can't be changed, which AWS refuses the same way."""
    from ..narrowing import refused_by_trust

    identity = settings.narrowing.source_identity
    if "sts:SetSourceIdentity" in message:
        action, what = "sts:SetSourceIdentity", f"the source identity {identity}" if identity else "a source identity"
    else:
        action, what = "sts:TagSession", "session tags"
    return refused_by_trust((settings.role or "the role").split("/")[-1], action, what, by_aws=True)


def login_failure(error, settings: Settings) -> ToolError:
    """botocore's aws login errors as one line each: never the token, always what to run."""
    e = botocore.exceptions
    source = settings.source_profile
    again = f"run: aws login --profile {source}"
    if isinstance(error, e.LoginRefreshRequired):
        return CredentialsError(
            f"the aws login session of source profile [{source}] has expired, or its password or MFA changed", again
        )
    if isinstance(error, e.LoginInsufficientPermissions):
        return CredentialsError(
            f"the aws login session of source profile [{source}] may not be refreshed (signin:CreateOAuth2Token)",
            "attach the SignInLocalDevelopmentAccess managed policy to the user; see: terraform-session-token policy",
        )
    if isinstance(error, e.LoginTokenLoadError):
        return CredentialsError(f"no usable aws login session for source profile [{source}]", again)
    return CredentialsError(f"the aws login session of source profile [{source}] could not be refreshed", again)
