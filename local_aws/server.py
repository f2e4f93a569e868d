"""The local AWS server: moto's WSGI app behind a layer that enforces STS's MFA rules."""

from __future__ import annotations

import io
import itertools
import json
import re
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode

import pyotp
from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from . import federation

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
ROLE_CHAINING_LIMIT = 3600
_USER_NUMBERS = itertools.count(1)  # moto's IAM is shared by every LocalAws in a process


def trust_policy(account: str, require_mfa: bool = True, max_mfa_age: int | None = None) -> str:
    """The original README's trust policy: the account may assume the role, with MFA."""
    condition: dict = {}
    if require_mfa:
        condition["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    if max_mfa_age:
        condition["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(max_mfa_age)}
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class Identity:
    """An IAM user of the local AWS with long-term keys and (usually) a virtual MFA device."""

    account: str
    user_name: str
    access_key_id: str
    secret_access_key: str
    serials: list[str] = field(default_factory=list)
    seeds: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:user/{self.user_name}"

    @property
    def serial(self) -> str:
        return self.serials[0]

    def totp(self, serial: str | None = None, offset: int = 0) -> str:
        """The code an authenticator app shows now (offset in 30 s steps)."""
        seed = self.seeds[serial or self.serial]
        return pyotp.TOTP(seed).at(time.time() + 30 * offset)

    def fresh_code(self, serial: str | None = None) -> str:
        """A code AWS accepts now and that was not handed out before (AWS takes each once).

        The current step first, then the next one (valid for a minute), the previous last.
        """
        handed = self.__dict__.setdefault("_handed", set())
        for offset in (0, 1, -1):
            code = self.totp(serial, offset)
            if (serial, code) not in handed:
                handed.add((serial, code))
                return code
        raise RuntimeError("all three acceptable codes were used: wait for the next 30 s step")

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")} | {"arn": self.arn}


@dataclass
class Principal:
    """Who a temporary access key acts as, and with what MFA context."""

    account: str
    arn: str
    user_name: str | None
    expires: float
    mfa_at: float | None
    chained: bool  # an assumed role: AssumeRole from it is role chaining
    session_token: str = ""
    secret: str = ""
    # A role session that was itself assumed with session credentials (role chaining):
    # the console federation refuses a SessionDuration for it.
    from_session: bool = False


class _Fault(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message


def _error_body(service: str, fault: _Fault) -> tuple[bytes, str]:
    """The error document in the shape `service` uses on AWS (query XML, S3 XML, DynamoDB JSON)."""
    message = fault.message.replace("&", "&amp;").replace("<", "&lt;")
    if service == "s3":
        code = {"InvalidClientTokenId": "InvalidAccessKeyId"}.get(fault.code, fault.code)
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
        return body.encode(), "application/xml"
    if service == "dynamodb":
        code = {"ExpiredToken": "ExpiredTokenException", "InvalidClientTokenId": "UnrecognizedClientException"}.get(
            fault.code, fault.code
        )
        body = json.dumps({"__type": f"com.amazon.coral.service#{code}", "message": fault.message})
        return body.encode(), "application/x-amz-json-1.0"
    return _xml_error(IAM_NS if service == "iam" else STS_NS, fault), "text/xml"


def _xml_error(namespace: str, fault: _Fault) -> bytes:
    kind = "Sender" if fault.status < 500 else "Receiver"
    message = fault.message.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"<Code>{fault.code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_precise(ts: float) -> str:
    """Milliseconds, as STS can send them: sessions of a few seconds need them."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Rules:
    """The WSGI layer: counts requests, applies the rules, then hands over to moto."""

    def __init__(self, app, session_lifetime: float | None = None, mfa_session_lifetime: float | None = None):
        self.app = app
        # The expiring mode: sessions really end this many seconds after they are issued,
        # whatever DurationSeconds asked for, and their Expiration says so.
        self.session_lifetime = session_lifetime
        self.mfa_session_lifetime = mfa_session_lifetime
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.temporary: dict[str, Principal] = {}
        self.used_codes: set[tuple[str, str]] = set()
        self.faults: list[tuple[int, str, str, str | None]] = []
        self.admin = None  # set by LocalAws: handles /_local_aws/ requests
        self.federation = federation.Federation(self)
        # A lying endpoint: these values replace the credentials of the next AssumeRole answers.
        self.credential_override: dict[str, str] = {}

    # -- helpers -------------------------------------------------------------
    def _take_fault(self, action: str) -> _Fault | None:
        """The first injected fault meant for this action (or for any request)."""
        with self.lock:
            for i, (status, code, message, wanted) in enumerate(self.faults):
                if wanted in (None, action):
                    del self.faults[i]
                    return _Fault(status, code, message)
        return None

    @staticmethod
    def _param(form: dict, name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    def _caller(self, access_key_id: str) -> tuple[Principal | None, object | None]:
        """(temporary principal, IAM user object) for the key; both None when unknown."""
        principal = self.temporary.get(access_key_id)
        if principal:
            return principal, None
        for account in list(iam_backends.keys()):
            backend = iam_backends[account]["global"]
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key_id:
                        return None, user
        return None, None

    def _check_code(self, user_name: str, account: str, serial: str | None, code: str | None):
        if not serial or not code:
            raise _Fault(
                400,
                "ValidationError",
                "Both SerialNumber and TokenCode are required for MFA authentication.",
            )
        backend = iam_backends[account]["global"]
        user = backend.users.get(user_name)
        device = backend.virtual_mfa_devices.get(serial)
        if not user or serial not in user.mfa_devices or device is None:
            raise _Fault(
                403,
                "AccessDenied",
                "MultiFactorAuthentication failed, unable to validate MFA code. "
                "Please verify your MFA serial number is valid and associated with this user.",
            )
        ok = re.fullmatch(r"\d{6}", code) and pyotp.TOTP(device.base32_string_seed).verify(code, valid_window=1)
        with self.lock:
            if not ok or (serial, code) in self.used_codes:
                raise _Fault(
                    403,
                    "AccessDenied",
                    "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                )
            self.used_codes.add((serial, code))

    @staticmethod
    def _check_duration(value: str | None, low: int, high: int, default: int) -> int:
        if value is None:
            return default
        seconds = int(value)
        if seconds < low:
            raise _Fault(
                400,
                "ValidationError",
                f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed "
                f"to satisfy constraint: Member must have value greater than or equal to {low}",
            )
        if seconds > high:
            raise _Fault(
                400,
                "ValidationError",
                f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed "
                f"to satisfy constraint: Member must have value less than or equal to {high}",
            )
        return seconds

    @staticmethod
    def _find_role(role_arn: str):
        m = re.fullmatch(r"arn:[a-z-]+:iam::(\d{12}):role/(.+)", role_arn or "")
        if not m or m.group(1) not in iam_backends:
            return None
        backend = iam_backends[m.group(1)]["global"]
        for role in list(backend.roles.values()):
            if role.arn == role_arn:
                return role
        return None

    @staticmethod
    def _trusts(role, caller_account: str, caller_arns: list[str], context: dict) -> bool:
        policy = json.loads(role.assume_role_policy_document)
        statements = policy.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        for st in statements:
            actions = st.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if st.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
                continue
            principals = st.get("Principal", {})
            aws = principals.get("AWS", []) if isinstance(principals, dict) else principals
            aws = [aws] if isinstance(aws, str) else aws
            allowed = {"*", caller_account, f"arn:aws:iam::{caller_account}:root", *caller_arns}
            if not set(aws) & allowed:
                continue
            if all(_condition_holds(op, body, context) for op, body in st.get("Condition", {}).items()):
                return True
        return False

    # -- STS -----------------------------------------------------------------
    def _assume_role(self, form: dict, principal: Principal | None, user) -> None:
        role_arn = self._param(form, "RoleArn")
        if principal:
            caller_account, caller_arn, user_name = principal.account, principal.arn, principal.user_name
        else:
            caller_account, caller_arn, user_name = user.account_id, user.arn, user.name
        role = self._find_role(role_arn)
        denied = _Fault(
            403,
            "AccessDenied",
            f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )
        if role is None:
            raise denied
        duration = self._check_duration(self._param(form, "DurationSeconds"), 900, 43200, 3600)
        # Role credentials and GetSessionToken credentials both make this role chaining.
        if principal and duration > ROLE_CHAINING_LIMIT:
            raise _Fault(
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            )
        if duration > int(role.max_session_duration or 3600):
            raise _Fault(
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        serial, code = self._param(form, "SerialNumber"), self._param(form, "TokenCode")
        mfa_at = principal.mfa_at if principal else None
        if serial or code:
            if user_name is None:
                raise denied
            self._check_code(user_name, caller_account, serial, code)
            mfa_at = time.time()
        context = {
            "aws:MultiFactorAuthPresent": "true" if mfa_at else None,
            "aws:MultiFactorAuthAge": str(int(time.time() - mfa_at)) if mfa_at else None,
            "sts:ExternalId": self._param(form, "ExternalId"),
        }
        arns = [caller_arn]
        if principal and principal.chained:
            # An assumed-role session is trusted under its role's ARN.
            parts = caller_arn.split(":")[5].split("/")
            arns.append(f"arn:aws:iam::{caller_account}:role/{parts[1]}")
        if not self._trusts(role, caller_account, arns, context):
            raise denied
        form["_mfa_at"] = [str(mfa_at) if mfa_at else ""]
        form["_from_session"] = ["1" if principal else ""]
        form["_user_name"] = [user_name or ""]

    def _get_session_token(self, form: dict, principal: Principal | None, user) -> bytes:
        if principal or user is None:
            raise _Fault(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
        duration = self._check_duration(self._param(form, "DurationSeconds"), 900, 129600, 43200)
        serial, code = self._param(form, "SerialNumber"), self._param(form, "TokenCode")
        mfa_at = None
        if serial or code:
            self._check_code(user.name, user.account_id, serial, code)
            mfa_at = time.time()
        key_id = "ASIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
        secret = secrets.token_urlsafe(30)[:40]
        token = "FwoGZXIvYXdzE" + secrets.token_urlsafe(120)
        expires = time.time() + (self.mfa_session_lifetime or duration)
        with self.lock:
            self.temporary[key_id] = Principal(
                user.account_id, user.arn, user.name, expires, mfa_at, chained=False, session_token=token, secret=secret
            )
        return (
            f'<GetSessionTokenResponse xmlns="{STS_NS}"><GetSessionTokenResult><Credentials>'
            f"<SessionToken>{token}</SessionToken><SecretAccessKey>{secret}</SecretAccessKey>"
            f"<Expiration>{_iso(expires)}</Expiration><AccessKeyId>{key_id}</AccessKeyId>"
            f"</Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>{uuid.uuid4()}"
            f"</RequestId></ResponseMetadata></GetSessionTokenResponse>"
        ).encode()

    def _caller_identity(self, principal: Principal) -> bytes:
        return (
            f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'
            f"<Arn>{principal.arn}</Arn><UserId>AIDA{principal.user_name or 'ROLE'}</UserId>"
            f"<Account>{principal.account}</Account></GetCallerIdentityResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</GetCallerIdentityResponse>"
        ).encode()

    def _remember_role_session(self, body: bytes, form: dict) -> bytes:
        text = body.decode()
        key = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text)
        expiry = re.search(r"<Expiration>([^<]+)</Expiration>", text)
        arn = re.search(r"<Arn>([^<]+)</Arn>", text)
        token = re.search(r"<SessionToken>([^<]+)</SessionToken>", text)
        secret = re.search(r"<SecretAccessKey>([^<]+)</SecretAccessKey>", text)
        if not (key and expiry and arn):
            return body
        expires = datetime.fromisoformat(expiry.group(1).replace("Z", "+00:00")).timestamp()
        for name, value in self.credential_override.items():
            old = re.search(f"<{name}>([^<]*)</{name}>", text)
            if old:
                escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                text = text.replace(old.group(0), f"<{name}>{escaped}</{name}>")
        if self.session_lifetime:
            expires = time.time() + self.session_lifetime
            text = text.replace(expiry.group(0), f"<Expiration>{_iso_precise(expires)}</Expiration>")
        mfa_at = self._param(form, "_mfa_at")
        with self.lock:
            self.temporary[key.group(1)] = Principal(
                arn.group(1).split(":")[4],
                arn.group(1),
                None,
                expires,
                float(mfa_at) if mfa_at else None,
                chained=True,
                session_token=token.group(1) if token else "",
                secret=secret.group(1) if secret else "",
                from_session=bool(self._param(form, "_from_session")),
            )
        return text.encode()

    # -- WSGI ----------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_local_aws/"):
            return self.admin(environ, start_response)
        if path in federation.PATHS or path.startswith(federation.CONSOLE_PREFIX):
            return self.federation(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", auth)
        key_id, service = (scope.group(1), scope.group(3)) if scope else ("", "")
        form = parse_qs(body.decode(errors="replace"), keep_blank_values=True)
        action = self._param(form, "Action") or environ.get("HTTP_X_AMZ_TARGET", "")
        if service == "s3":
            action = f"{environ.get('REQUEST_METHOD', '')} {path}"
        record = {"service": service, "action": action, "key": key_id, "time": time.time(), "error": ""}
        with self.lock:
            self.requests.append(record)
        try:
            fault = self._take_fault(action)
            if fault:
                raise fault
            principal, user = self._caller(key_id)
            if key_id and principal is None and user is None:
                raise _Fault(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
            if principal:
                if principal.expires <= time.time():
                    raise _Fault(400, "ExpiredToken", "The security token included in the request is expired")
                if environ.get("HTTP_X_AMZ_SECURITY_TOKEN") != principal.session_token:
                    raise _Fault(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = principal.account
            elif user is not None:
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = user.account_id
            if service == "sts" and action == "GetSessionToken":
                return self._respond(start_response, 200, self._get_session_token(form, principal, user))
            if service == "sts" and action == "GetCallerIdentity" and principal and not principal.chained:
                return self._respond(start_response, 200, self._caller_identity(principal))
            if service == "sts" and action == "AssumeRole":
                self._assume_role(form, principal, user)
            if service == "iam" and action == "ListMFADevices" and not self._param(form, "UserName"):
                # AWS defaults UserName to the caller; moto does not.
                name = principal.user_name if principal else user.name if user else None
                if name:
                    body = (body.decode() + "&" + urlencode({"UserName": name})).encode()
        except _Fault as fault:
            record["error"] = fault.code
            body, content_type = _error_body(service, fault)
            return self._respond(start_response, fault.status, body, content_type)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if service == "sts" and action == "AssumeRole":
            chunks: list[bytes] = []
            status_holder: list = []

            def capture(status, headers, exc_info=None):
                status_holder.append((status, headers))
                return chunks.append

            result = b"".join(itertools.chain(self.app(environ, capture), chunks))
            status, headers = status_holder[0]
            if status.startswith("200"):
                result = self._remember_role_session(result, form)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, headers + [("Content-Length", str(len(result)))])
            return [result]
        return self.app(environ, start_response)

    @staticmethod
    def _respond(start_response, status: int, body: bytes, content_type: str = "text/xml", extra_headers=None):
        reason = {200: "OK", 302: "Found", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra_headers or [])]
        start_response(f"{status} {reason}", headers)
        return [body]


def _condition_holds(operator: str, body: dict, context: dict) -> bool:
    for key, expected in body.items():
        expected = [expected] if isinstance(expected, str) else list(expected)
        actual = context.get(key)
        if operator in ("Bool", "BoolIfExists"):
            if actual is None:
                if operator == "BoolIfExists" or expected == ["false"]:
                    continue
                return False
            if actual not in expected:
                return False
        elif operator == "NumericLessThan":
            if actual is None or not int(actual) < int(expected[0]):
                return False
        elif operator == "StringEquals":
            if actual not in expected:
                return False
        else:
            return False  # an operator we don't model: fail closed
    return True


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class LocalAws:
    """The local AWS, provisioned with the original README's setup, on 127.0.0.1."""

    def __init__(
        self,
        port: int = 0,
        ssl_context=None,
        session_lifetime: float | None = None,
        mfa_session_lifetime: float | None = None,
    ):
        """`ssl_context`: (certfile, keyfile) to serve HTTPS, for TLS and CA-bundle tests.

        `session_lifetime`: the expiring mode. Every role session really expires that many
        seconds after it is issued (its Expiration says so) and a request signed with it
        afterwards gets ExpiredToken. `mfa_session_lifetime` does the same for
        GetSessionToken; by default those last what DurationSeconds asked for.
        """
        app = DomainDispatcherApplication(create_backend_app)
        self.rules = Rules(app, session_lifetime, mfa_session_lifetime)
        self.rules.admin = self._admin
        self._tls = ssl_context is not None
        self._server = make_server(
            "127.0.0.1", port, self.rules, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
        )
        self._thread: threading.Thread | None = None
        self.identities: dict[str, Identity] = {}

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def start(self) -> LocalAws:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.provision()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join()

    # -- provisioning ----------------------------------------------------------
    def _iam(self, account: str):
        return iam_backends[account]["global"]

    def provision(self) -> None:
        """The original README's setup: TerraformRole requiring MFA, plus a few more."""
        if self._iam(ACCOUNT).roles:
            return  # another LocalAws in this process did it already: moto's state is shared
        self.create_role("TerraformRole", ACCOUNT, max_session_duration=3600)
        self.create_role("LongRole", ACCOUNT, max_session_duration=43200)
        self.create_role("NoMfaRole", ACCOUNT, require_mfa=False)
        self.create_role("ChainTargetRole", ACCOUNT, require_mfa=False, max_session_duration=43200)
        self.create_role("TerraformRole", OTHER_ACCOUNT, trusted_account=ACCOUNT)
        self.create_role("DeployRole", ACCOUNT, path="/deploy/")

    def create_role(
        self,
        name: str,
        account: str = ACCOUNT,
        require_mfa: bool = True,
        max_session_duration: int = 3600,
        trusted_account: str | None = None,
        path: str = "/",
        policy: str | None = None,
    ) -> str:
        role = self._iam(account).create_role(
            role_name=name,
            assume_role_policy_document=policy or trust_policy(trusted_account or account, require_mfa),
            path=path,
            permissions_boundary=None,
            description="local AWS role",
            tags=[],
            max_session_duration=str(max_session_duration),
            linked_service=None,
        )
        return role.arn

    def new_identity(self, name: str | None = None, devices: int = 1, account: str = ACCOUNT) -> Identity:
        """A fresh IAM user with an access key and `devices` enabled virtual MFA devices."""
        name = name or f"user{next(_USER_NUMBERS)}"
        iam = self._iam(account)
        iam.create_user(region_name=REGION, user_name=name, path="/", tags=[])
        key = iam.create_access_key(user_name=name)
        identity = Identity(account, name, key.access_key_id, key.secret_access_key)
        for n in range(devices):
            device_name = name if n == 0 else f"{name}-{n + 1}"
            device = iam.create_virtual_mfa_device(device_name, "/")
            iam.enable_mfa_device(name, device.serial_number, "000000", "000000")
            identity.serials.append(device.serial_number)
            identity.seeds[device.serial_number] = device.base32_string_seed
        self.identities[name] = identity
        return identity

    def create_state_backend(self, bucket: str, table: str, account: str = ACCOUNT) -> None:
        """An S3 bucket and a DynamoDB lock table for Terraform's S3 backend (no request recorded)."""
        from moto.dynamodb.models import dynamodb_backends
        from moto.s3.models import s3_backends

        s3 = s3_backends[account]["aws"]
        if bucket not in s3.buckets:
            s3.create_bucket(bucket, REGION)
        dynamodb = dynamodb_backends[account][REGION]
        if table not in dynamodb.tables:
            dynamodb.create_table(
                table,
                schema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                throughput=None,
                attr=[{"AttributeName": "LockID", "AttributeType": "S"}],
                global_indexes=None,
                indexes=None,
                streams=None,
                billing_mode="PAY_PER_REQUEST",
                sse_specification=None,
                tags=[],
                deletion_protection_enabled=False,
                warm_throughput=None,
            )

    def put_object(self, bucket: str, key: str, body: bytes, account: str = ACCOUNT) -> None:
        """Seed an object (a state another stack wrote) without a recorded request."""
        from moto.s3.models import s3_backends

        s3_backends[account]["aws"].put_object(bucket, key, body)

    # -- observation -------------------------------------------------------------
    def requests(self, service: str | None = None) -> list[dict]:
        return [r for r in self.rules.requests if service in (None, r["service"])]

    def actions(self) -> list[str]:
        return [r["action"] for r in self.rules.requests]

    def reset_requests(self) -> None:
        with self.rules.lock:
            self.rules.requests.clear()

    def sign_ins(self) -> list:
        """Every console sign-in through the federation endpoint (who, where to, for how long)."""
        return list(self.rules.federation.sign_ins)

    def inject_fault(self, status: int, code: str, message: str, action: str | None = None) -> None:
        """Make the next request (of `action`, when given) fail with this AWS error."""
        self.rules.faults.append((status, code, message, action))

    def expire(self, access_key_id: str) -> None:
        self.rules.temporary[access_key_id].expires = time.time() - 1

    def _admin(self, environ, start_response):
        path = environ["PATH_INFO"]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path == "/_local_aws/requests":
            payload = self.requests()
        elif path == "/_local_aws/reset":
            self.reset_requests()
            payload = {"ok": True}
        elif path == "/_local_aws/identity":
            payload = self.new_identity(query.get("name", [None])[0]).as_dict()
        elif path == "/_local_aws/fresh_code":
            payload = {"code": self.identities[query["user"][0]].fresh_code()}
        elif path == "/_local_aws/totp":
            identity = self.identities[query["user"][0]]
            payload = {"code": identity.totp(offset=int(query.get("offset", ["0"])[0]))}
        else:
            return Rules._respond(start_response, 404, b"{}", "application/json")
        return Rules._respond(start_response, 200, json.dumps(payload).encode(), "application/json")
