"""The local AWS's front door: one WSGI dispatcher in front of moto and the services' rules.

Every request is recorded (service, action, signing key, error); injected faults come
first; the signing key is looked up (an IAM user's long-term key, or a temporary principal
that STS here issued, expired or not); then the service's module applies AWS's rules
(sts.py, iam.py, federation.py) before moto answers, each error in its service's shape
(s3.py, dynamodb.py); where moto enforces IAM policies, S3 requests are checked against their
IAM actions (s3.py). LocalAws serves it on 127.0.0.1, over TLS when asked.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
from urllib.parse import parse_qs

from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from . import dynamodb, federation, iam, s3, signin, sts
from .iam import trust_policy
from .model import ACCOUNT, OTHER_ACCOUNT, REGION, USER_NUMBERS, Fault, Identity, Principal, param, respond

ERROR_SHAPES = {"s3": s3.error_body, "dynamodb": dynamodb.error_body, "iam": iam.error_body}


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
        # Gates: the first request of one of these actions waits until the condition holds.
        self.holds: list[tuple[frozenset[str], object, float]] = []
        self.hold_timeouts = 0
        self.admin = None  # set by LocalAws: handles /_local_aws/ requests
        self.federation = federation.Federation(self)
        self.signin = signin.SignInService(self)
        # A lying endpoint: these values replace the credentials of the next AssumeRole answers.
        self.credential_override: dict[str, str] = {}

    # -- helpers -------------------------------------------------------------
    def _take_fault(self, action: str) -> Fault | None:
        """The first injected fault meant for this action (or for any request)."""
        with self.lock:
            for i, (status, code, message, wanted) in enumerate(self.faults):
                if wanted in (None, action):
                    del self.faults[i]
                    return Fault(status, code, message)
        return None

    def _wait_if_held(self, action: str) -> None:
        """A gate a test set (LocalAws.hold): the first request of its actions waits for its condition."""
        with self.lock:
            found = next((hold for hold in self.holds if action in hold[0]), None)
            if found is None:
                return
            self.holds.remove(found)
        _, until, timeout = found
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() >= deadline:
                with self.lock:
                    self.hold_timeouts += 1
                return
            time.sleep(0.02)

    def _caller(self, access_key_id: str) -> tuple[Principal | None, object | None]:
        """(temporary principal, IAM user object) for the key; both None when unknown."""
        principal = self.temporary.get(access_key_id)
        if principal:
            return principal, None
        return None, iam.user_with_key(access_key_id)

    # -- WSGI ----------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_local_aws/"):
            return self.admin(environ, start_response)
        if path in federation.PATHS or path.startswith(federation.CONSOLE_PREFIX):
            return self.federation(environ, start_response)
        if path == signin.PATH and not environ.get("HTTP_AUTHORIZATION"):
            return self.signin(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", auth)
        key_id, service = (scope.group(1), scope.group(3)) if scope else ("", "")
        form = parse_qs(body.decode(errors="replace"), keep_blank_values=True)
        action = param(form, "Action") or environ.get("HTTP_X_AMZ_TARGET", "")
        if service == "s3":
            action = f"{environ.get('REQUEST_METHOD', '')} {path}"
        record = {"service": service, "action": action, "key": key_id, "time": time.time(), "error": ""}
        if service == "sts" and action == "AssumeRole":
            record["params"] = sts.session_parameters(form)  # as sent, whatever the answer
        with self.lock:
            self.requests.append(record)
        self._wait_if_held(action)
        try:
            fault = self._take_fault(action)
            if fault:
                raise fault
            principal, user = self._caller(key_id)
            if key_id and principal is None and user is None:
                raise Fault(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
            if principal:
                if principal.expires <= time.time():
                    raise Fault(400, "ExpiredToken", "The security token included in the request is expired")
                if environ.get("HTTP_X_AMZ_SECURITY_TOKEN") != principal.session_token:
                    raise Fault(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = principal.account
                # As CloudTrail shows them on every request of the session.
                if principal.source_identity:
                    record["source_identity"] = principal.source_identity
                if principal.tags:
                    record["principal_tags"] = dict(principal.tags)
                if principal.chained and service in ("s3", "dynamodb"):
                    self._authorize(environ, service, scope.group(2), body, principal, record)
            elif user is not None:
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = user.account_id
            if service == "s3" and (principal or user):
                s3.check_owner(path, environ["HTTP_X_MOTO_ACCOUNT_ID"])
            if service == "sts" and action == "GetSessionToken":
                return respond(start_response, 200, sts.get_session_token(self, form, principal, user))
            if service == "sts" and action == "GetCallerIdentity" and principal and not principal.chained:
                return respond(start_response, 200, sts.caller_identity(principal))
            if service == "sts" and action == "AssumeRole":
                sts.assume_role(self, form, principal, user)
            if service == "iam" and action == "ListMFADevices":
                name = principal.user_name if principal else user.name if user else None
                body = iam.with_default_user_name(body, form, name)
        except Fault as fault:
            record["error"] = fault.code
            body, content_type = ERROR_SHAPES.get(service, sts.error_body)(fault)
            return respond(start_response, fault.status, body, content_type)
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
                result = sts.remember_role_session(self, result, form)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, headers + [("Content-Length", str(len(result)))])
            return [result]
        return self.app(environ, start_response)

    def _authorize(self, environ, service: str, region: str, body: bytes, principal: Principal, record: dict) -> None:
        """A role session's S3 or DynamoDB request: allowed by the role's own policies and, for a
        narrowed session, by its session policies too (AWS's intersection); AccessDenied otherwise,
        in AWS's words."""
        if service == "s3":
            query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            action, resource = s3.iam_request(
                environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), query, headers
            )
            context: dict = {}
        else:
            action, resource, context = dynamodb.iam_request(
                environ.get("HTTP_X_AMZ_TARGET", ""), body, principal.account, region
            )
        record["iam_action"] = action
        context = {
            **context,
            "aws:SourceIdentity": principal.source_identity,
            **{f"aws:PrincipalTag/{k}": v for k, v in principal.tags.items()},
        }
        role = iam.role_of_session(principal.arn)
        reason = None
        identity = iam.decide(iam.identity_policies(role), action, resource, context) if role else None
        if identity != "Allow":
            reason = (
                "with an explicit deny in an identity-based policy"
                if identity
                else "because no identity-based policy allows the " + action + " action"
            )
        elif principal.session_policies is not None:
            session = iam.decide(principal.session_policies, action, resource, context)
            if session != "Allow":
                reason = (
                    "with an explicit deny in a session policy"
                    if session
                    else f"because no session policy allows the {action} action"
                )
        if reason:
            shown = f'"{resource}"' if service == "s3" else resource
            raise Fault(
                403,
                "AccessDenied",
                f"User: {principal.arn} is not authorized to perform: {action} on resource: {shown} {reason}",
            )


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
        s3.authorise_by_iam_actions()
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
        permissions: str | None = iam.ADMINISTRATOR,
    ) -> str:
        """A role trusting `trusted_account` (with MFA unless told otherwise), or trusting as `policy`
        says; `permissions`: its inline identity policy (None: none, so its sessions may do nothing)."""
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
        if permissions is not None:
            self._iam(account).put_role_policy(name, "Permissions", permissions)
        return role.arn

    def new_identity(self, name: str | None = None, devices: int = 1, account: str = ACCOUNT) -> Identity:
        """A fresh IAM user with an access key and `devices` enabled virtual MFA devices."""
        name = name or f"user{next(USER_NUMBERS)}"
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
        s3.create_bucket(bucket, account)
        dynamodb.create_lock_table(table, account)

    def put_object(self, bucket: str, key: str, body: bytes, account: str = ACCOUNT) -> None:
        """Seed an object (a state another stack wrote) without a recorded request."""
        s3.put_object(bucket, key, body, account)

    def get_object(self, bucket: str, key: str, account: str = ACCOUNT) -> bytes | None:
        """An object's bytes (a state), without a recorded request; None when there is none."""
        return s3.get_object(bucket, key, account)

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

    def write_login_cache(self, identity: Identity, home, session_name: str, **kwargs) -> signin.LoginSession:
        """What `aws login` leaves in `home`/.aws/login/cache for `session_name` (see signin.py)."""
        from pathlib import Path

        return self.rules.signin.write_login_cache(
            identity, Path(home) / ".aws" / "login" / "cache", session_name, **kwargs
        )

    def login_refreshes(self) -> list[dict]:
        """Every login token refresh served: the session's ARN, the old and the new access key."""
        return list(self.rules.signin.refreshes)

    def inject_fault(self, status: int, code: str, message: str, action: str | None = None) -> None:
        """Make the next request (of `action`, when given) fail with this AWS error."""
        self.rules.faults.append((status, code, message, action))

    def hold(self, actions, until, timeout: float = 10) -> None:
        """Make the first request of one of `actions` wait until `until()` is true (polled; given up
        after `timeout` s, counted in hold_timeouts): e.g. until every parallel caller is in line
        behind the one making it, so that a test sees what those callers do once it is answered.
        Keep `timeout` below the client's read timeout, or it sends the request again."""
        with self.rules.lock:
            self.rules.holds.append((frozenset(actions), until, timeout))

    @property
    def hold_timeouts(self) -> int:
        return self.rules.hold_timeouts

    def release_holds(self) -> None:
        with self.rules.lock:
            self.rules.holds.clear()

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
            try:
                payload = {"code": self.identities[query["user"][0]].fresh_code()}
            except RuntimeError as error:  # AWS takes each code once: none left even after a step's wait
                return respond(start_response, 409, json.dumps({"error": str(error)}).encode(), "application/json")
        elif path == "/_local_aws/totp":
            identity = self.identities[query["user"][0]]
            payload = {"code": identity.totp(offset=int(query.get("offset", ["0"])[0]))}
        else:
            return respond(start_response, 404, b"{}", "application/json")
        return respond(start_response, 200, json.dumps(payload).encode(), "application/json")
