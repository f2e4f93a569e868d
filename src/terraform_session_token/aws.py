"""The only module that imports botocore: STS and IAM calls, and their errors in plain words.

Imported lazily, by the commands that really call AWS.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import warnings

import botocore.exceptions
import botocore.loaders
import botocore.parsers
import botocore.session
from botocore.config import Config

from . import storage
from .errors import (
    AwsError,
    ConfigError,
    CredentialsError,
    ExtraMissing,
    MfaError,
    MfaSessionRejected,
    NetworkError,
    RoleError,
    ToolError,
    UsageError,
)
from .profiles import Settings
from .sessions import Session

# sts and iam for the tool's own calls; signin, sso and sso-oidc for botocore's credential
# providers of a source profile (aws login, IAM Identity Center), which call services of their own.
SERVICES = ("sts", "iam", "signin", "sso", "sso-oidc")
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 15
DEADLINE = 30.0  # seconds for one AWS call, retries included
NOT_AWS_HINT = "check --endpoint-url / AWS_ENDPOINT_URL, and any proxy or captive portal in between"


def call_deadline() -> float:
    """The total time one AWS call may take: TERRAFORM_SESSION_TOKEN_AWS_DEADLINE, else 30 s."""
    try:
        value = float(os.environ.get("TERRAFORM_SESSION_TOKEN_AWS_DEADLINE") or DEADLINE)
    except ValueError:
        return DEADLINE
    return max(value, 0.1) if value < float("inf") else DEADLINE  # nan and inf: the default


class _KnownServicesLoader(botocore.loaders.Loader):
    """botocore's data loader, told which services exist instead of listing its ~400 model
    directories on every client creation (about 30 ms of a refresh). Models load as usual."""

    def list_available_services(self, type_name):
        return list(SERVICES)


def _install_loader(session) -> None:
    paths = session.get_config_variable("data_path")  # AWS_DATA_PATH keeps working
    extra = [os.path.expanduser(p) for p in paths.split(os.pathsep)] if paths else []
    session.register_component("data_loader", _KnownServicesLoader(extra_search_paths=extra))


class Aws:
    """STS and IAM clients for one run, sharing one botocore session."""

    def __init__(self, settings: Settings, source_profile_exists: bool = True, source_keys=None):
        """`source_keys`: the source profile's long-term keys from the OS keyring, if kept there."""
        storage.no_core_dumps()
        self.settings = settings
        try:
            if source_profile_exists or settings.source_explicit:
                self.session = botocore.session.Session(profile=settings.source_profile)
            else:
                # No [default] in the files: the AWS_ACCESS_KEY_ID family may still be set.
                # AWS_PROFILE must not pick the source behind the user's back.
                os.environ.pop("AWS_PROFILE", None)
                os.environ.pop("AWS_DEFAULT_PROFILE", None)
                self.session = botocore.session.Session()
            _install_loader(self.session)
            if settings.sts_regional_endpoints:
                self.session.set_config_variable("sts_regional_endpoints", settings.sts_regional_endpoints)
            self._clients: dict[str, object] = {}
            self.source_label = f"profile [{settings.source_profile}]" if source_profile_exists else "the environment"
            # The keyring is read only when a call needs the source keys: with a cached MFA session,
            # a refresh needs none (a keyring locked during a long apply does not matter then).
            self._source_keys = source_keys
            self._source_checked = False
        except botocore.exceptions.BotoCoreError as e:
            raise translate(e, settings) from e
        if not settings.verify_ssl:
            with contextlib.suppress(ImportError):
                import urllib3

                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)

    def _verify(self):
        if not self.settings.verify_ssl:
            return False
        return self.settings.ca_bundle or None  # None: botocore applies AWS_CA_BUNDLE / ca_bundle

    def _load_source_keys(self) -> None:
        keys = self._source_keys
        self._source_keys = None
        if callable(keys):
            keys = keys()
        if keys is not None:
            self.session.set_credentials(keys.access_key_id, keys.secret_access_key)
            self.source_label = f"profile [{self.settings.source_profile}] (keys in the OS keyring)"

    def _freeze_login_credentials(self) -> None:
        """An `aws login` source: botocore reads its cache and, when the access token has (almost)
        run out, refreshes it, which rotates the refresh token and rewrites the cache. Under one lock
        of ours, so that parallel runs refresh it once; the credentials it gives are then used as
        they are for this run's calls (a run takes seconds; they last at least five minutes)."""
        from . import sessions

        self.source_label = f"the aws login session of profile [{self.settings.source_profile}]"
        with storage.locked(sessions.lock_file("login--" + self.settings.login_session)):
            try:
                creds = self.session.get_credentials()
                frozen = creds.get_frozen_credentials() if creds is not None else None
            except botocore.exceptions.BotoCoreError as e:
                raise translate(e, self.settings) from None
            except botocore.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                raise CredentialsError(
                    f"AWS refused to refresh the aws login session of source profile "
                    f"[{self.settings.source_profile}] ({code})",
                    f"run: aws login --profile {self.settings.source_profile}",
                ) from None
        if frozen is not None:
            self.session.set_credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def client(self, service: str, credentials=None, attempts: int = 3):
        """A client signing with the source, or with `credentials` (a Session or long-term Keys)."""
        if credentials is None and not self._source_checked:
            self.check_source_credentials()
        key = (service, credentials.access_key_id if credentials else "", attempts)
        if key not in self._clients:
            extra = {}
            if credentials:
                extra = dict(
                    aws_access_key_id=credentials.access_key_id,
                    aws_secret_access_key=credentials.secret_access_key,
                    aws_session_token=getattr(credentials, "session_token", None) or None,
                )
            config = Config(
                retries={"total_max_attempts": attempts, "mode": "standard"},
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
            )
            try:
                self._clients[key] = self.session.create_client(
                    service,
                    region_name=self.settings.region,
                    endpoint_url=self.settings.endpoint_url,
                    verify=self._verify(),
                    config=config,
                    **extra,
                )
            except botocore.exceptions.BotoCoreError as e:
                raise translate(e, self.settings) from e
        return self._clients[key]

    def check_source_credentials(self) -> None:
        """The source keys are there (loaded from the keyring if kept there), checked once."""
        self._load_source_keys()
        self._source_checked = True
        if self.settings.login_session:
            self._freeze_login_credentials()
        try:
            creds = self.session.get_credentials()
        except botocore.exceptions.BotoCoreError as e:
            raise translate(e, self.settings) from e
        if creds is None and self.source_label == "the environment":
            name = self.settings.source_profile
            raise CredentialsError(
                f"source profile [{name}] not found in the credentials or config file",
                f"create it with: aws configure --profile {name}, or pass --source-profile",
            )
        if creds is None:
            raise CredentialsError(
                f"no AWS keys found for the source {self.source_label}",
                f"add them with: aws configure --profile {self.settings.source_profile}",
            )

    def _call(self, client, operation: str, **params):
        """One AWS call, with a total deadline: botocore's timeouts are per connect and per read,
        so an endpoint that trickles a byte at a time would otherwise never end."""
        outcome: dict = {}

        def call() -> None:
            try:
                outcome["value"] = getattr(client, operation)(**params)
            except BaseException as e:  # handed to the caller's thread
                outcome["error"] = e

        worker = threading.Thread(target=call, name=f"aws-{operation}", daemon=True)
        worker.start()
        worker.join(call_deadline())
        if worker.is_alive():
            url = self.settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "the AWS endpoint"
            raise NetworkError(
                f"no complete answer from {url} within {call_deadline():g} s ({operation})",
                "check the network, proxy and --endpoint-url / AWS_ENDPOINT_URL",
            )
        error = outcome.get("error")
        if isinstance(error, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
            raise translate(error, self.settings, operation) from error
        # botocore's parsers fail in their own ways on bodies that are not AWS's (HTML, garbage).
        if isinstance(error, (botocore.parsers.ResponseParserError, KeyError, ValueError, TypeError, IndexError)):
            raise NetworkError(
                f"the endpoint's answer to {operation} is not an AWS response",
                NOT_AWS_HINT,
            ) from error
        if error is not None:
            raise error
        return outcome["value"]

    # -- discovery (IAM) -------------------------------------------------------
    def list_mfa_devices(self) -> list[str]:
        response = self._call(self.client("iam"), "list_mfa_devices")
        return [d["SerialNumber"] for d in response.get("MFADevices", [])]

    def describe_role(self, name: str) -> dict:
        """iam:GetRole for a role in the source account: ARN, MaxSessionDuration, trust policy."""
        return self._call(self.client("iam"), "get_role", RoleName=name)["Role"]

    def get_role(self, name: str) -> tuple[str, int]:
        """(ARN, MaxSessionDuration) of a role in the source account."""
        role = self.describe_role(name)
        return role["Arn"], int(role.get("MaxSessionDuration") or 3600)

    # -- sessions (STS) ----------------------------------------------------------
    def assume_role(
        self,
        role_arn: str,
        session_name: str,
        duration: int,
        serial: str | None = None,
        code: str | None = None,
        credentials: Session | None = None,
    ) -> Session:
        params = dict(RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration)
        if serial and code:
            params.update(SerialNumber=serial, TokenCode=code)
        if self.settings.external_id:
            params["ExternalId"] = self.settings.external_id
        # One attempt when a code is sent: AWS accepts each code once.
        client = self.client("sts", credentials, attempts=1 if code else 3)
        try:
            response = self._call(client, "assume_role", **params)
        except CredentialsError:
            if credentials is None:
                raise
            # Signed by the MFA session, not by the source keys: say so, so that it can be replaced.
            raise MfaSessionRejected(
                f"AWS no longer accepts the cached MFA session of source profile [{self.settings.source_profile}]",
                "it expired early or was revoked; run again to start a new one with one code",
            ) from None
        return _session(_get(response, "Credentials"), _get(response, "AssumedRoleUser", "Arn"), self.settings.region)

    def get_session_token(self, duration: int, serial: str, code: str) -> Session:
        client = self.client("sts", attempts=1)
        response = self._call(
            client, "get_session_token", DurationSeconds=duration, SerialNumber=serial, TokenCode=code
        )
        return _session(_get(response, "Credentials"), "", self.settings.region)

    def caller_identity(self, credentials=None, attempts: int = 3) -> dict:
        return self._call(self.client("sts", credentials, attempts), "get_caller_identity")

    # -- access keys (IAM), for keys rotate --------------------------------------
    def create_access_key(self):
        """A new access key for the source user (its second: IAM allows two)."""
        from .keystore import Keys

        key = self._call(self.client("iam", attempts=1), "create_access_key")["AccessKey"]
        return Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def delete_access_key(self, access_key_id: str, signer) -> None:
        """Delete `access_key_id`, signing with `signer` (the other key)."""
        self._call(self.client("iam", signer), "delete_access_key", AccessKeyId=access_key_id)

    def access_key_created(self, access_key_id: str):
        """When IAM says the key was created (None when IAM does not list it)."""
        keys = self._call(self.client("iam"), "list_access_keys").get("AccessKeyMetadata", [])
        return next((k["CreateDate"] for k in keys if k["AccessKeyId"] == access_key_id), None)


def federation_signin_token(url: str, settings: Settings) -> str:
    """The console sign-in token for the session that `url` carries (getSigninToken).

    Sent through botocore's HTTP layer (proxies, CA bundle) with the same total deadline as
    every AWS call. The URL holds the session's secret and the answer is a credential: no
    message or chained exception carries either.
    """
    import json

    from botocore.awsrequest import AWSRequest
    from botocore.httpsession import URLLib3Session
    from botocore.utils import get_environ_proxies

    host = url.split("?", 1)[0]
    verify = False if not settings.verify_ssl else (settings.ca_bundle or os.environ.get("AWS_CA_BUNDLE") or True)
    if not settings.verify_ssl:
        with contextlib.suppress(ImportError):
            import urllib3

            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
    outcome: dict = {}

    def call() -> None:
        try:
            http = URLLib3Session(
                verify=verify, proxies=get_environ_proxies(url), timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
            )
            response = http.send(AWSRequest(method="GET", url=url, headers={"Accept": "application/json"}).prepare())
            outcome["status"], outcome["body"] = response.status_code, response.content
        except BaseException as e:  # handed to the caller's thread, never shown (it may hold the URL)
            outcome["error"] = e

    worker = threading.Thread(target=call, name="aws-federation", daemon=True)
    worker.start()
    worker.join(call_deadline())
    if worker.is_alive():
        raise NetworkError(
            f"no complete answer from {host} within {call_deadline():g} s", "check the network and proxy"
        )
    error = outcome.get("error")
    if isinstance(error, botocore.exceptions.SSLError):
        raise NetworkError(
            f"TLS certificate verification failed for {host}",
            "if a proxy inspects TLS, pass its CA with --ca-bundle PATH or AWS_CA_BUNDLE",
        ) from None
    if error is not None:
        raise NetworkError(
            f"can't reach the console sign-in at {host} ({type(error).__name__})",
            "check the network and proxy, or AWS_ENDPOINT_URL_SIGNIN",
        ) from None
    status = outcome["status"]
    if status != 200:
        raise AwsError(
            f"the AWS sign-in service refused the console sign-in (HTTP {status} from {host})",
            "the session may have expired or be of a kind the console does not take; "
            "run again with --force for a new session",
        )
    try:
        token = json.loads(outcome["body"])["SigninToken"]
    except (ValueError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise NetworkError(f"the answer of {host} is not an AWS sign-in token", NOT_AWS_HINT)
    return token


def _get(response, *path):
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


_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: anything else is not from AWS


def _session(creds: dict, arn: str, region: str) -> Session:
    fields = (creds.get("AccessKeyId"), creds.get("SecretAccessKey"), creds.get("SessionToken"))
    expiration = creds.get("Expiration")
    if (
        not all(isinstance(v, str) for v in fields)
        or not _KEY_ID.fullmatch(fields[0])
        or not all(_TOKEN.fullmatch(v) for v in fields[1:])
        or not hasattr(expiration, "tzinfo")
        or (arn and not _TOKEN.fullmatch(arn))
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
                "pass --serial and a full role ARN with --role, or grant it (see: terraform-session-token policy)",
            )
        return AwsError(f"AWS refused {operation or 'the request'}: {code}: {message}".rstrip(": "), "")
    login_error = getattr(e, "LoginError", None)
    if login_error is not None and isinstance(error, login_error):
        return _login_failure(error, settings)
    if isinstance(error, e.MissingDependencyException):
        return ExtraMissing(
            f"the source profile [{source}] needs an optional extra: {error}",
            "pip install 'terraform-session-token[login]' (it brings botocore[crt])",
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


def _login_failure(error, settings: Settings) -> ToolError:
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
            "attach the SignInLocalDevelopmentAccess managed policy to the user (see: terraform-session-token policy)",
        )
    if isinstance(error, e.LoginTokenLoadError):
        return CredentialsError(f"no usable aws login session for source profile [{source}]", again)
    return CredentialsError(f"the aws login session of source profile [{source}] could not be refreshed", again)
