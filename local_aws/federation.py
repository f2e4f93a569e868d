"""The console's federation endpoint (sign-in service), as AWS documents it, and a small console.

`GET /federation?Action=getSigninToken&Session={"sessionId","sessionKey","sessionToken"}`
answers `{"SigninToken": ...}` for a role session that STS here issued through AssumeRole:

- a GetSessionToken session gets AWS's 400 "Only federation tokens or assume role tokens
  may be used for federated login";
- `SessionDuration` must be 900..43200 and is refused (400) for a role session that was
  itself assumed with session credentials (role chaining);
- unknown, mismatched or expired credentials get 400;
- the token is good once, for 15 minutes.

`GET /federation?Action=login&Issuer=...&Destination=...&SigninToken=...` with a valid token
records who signed in and redirects (302) to the Destination, which must be a console URL
of the session's partition. The local AWS plays that console too: the redirect lands on
`/_console/` + the Destination's path, a page naming the signed-in role.
`GET /oauth?Action=logout&redirect_uri=...` signs the browser out and redirects to a URL of
this sign-in host.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .model import respond

PATHS = ("/federation", "/oauth")
CONSOLE_PREFIX = "/_console/"
TOKEN_LIFETIME = 900
COOKIE = "local-aws-console"
CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
NOT_ROLE = "Only federation tokens or assume role tokens may be used for federated login."
BAD_CREDENTIALS = "Invalid credentials parameter. The request sent by the client was syntactically incorrect."


@dataclass
class SignIn:
    """One use of a sign-in token: who, where to, for how long."""

    arn: str
    destination: str
    issuer: str
    duration: int | None
    time: float


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


class Federation:
    """The sign-in service's federation actions, on the same port as the rest of the local AWS."""

    def __init__(self, rules):
        self.rules = rules
        self.lock = threading.Lock()
        self.tokens: dict[str, tuple[object, float, int | None]] = {}  # token -> (principal, expiry, duration)
        self.sign_ins: list[SignIn] = []
        self.consoles: dict[str, SignIn] = {}  # cookie value -> sign-in
        self.logouts = 0

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        action = (query.get("Action") or [""])[0]
        record = {"service": "signin", "action": action or path, "key": "", "time": time.time(), "error": ""}
        with self.rules.lock:
            self.rules.requests.append(record)
        try:
            if environ.get("REQUEST_METHOD") not in ("GET", "POST"):
                raise _Refused(400, "Unsupported method")
            if path.startswith(CONSOLE_PREFIX):
                return self._console(environ, start_response)
            if path == "/oauth" and action == "logout":
                return self._logout(environ, query, start_response)
            if path == "/federation" and action == "getSigninToken":
                return self._signin_token(query, record, start_response)
            if path == "/federation" and action == "login":
                return self._login(environ, query, start_response)
            raise _Refused(400, "Unknown Action")
        except _Refused as refused:
            record["error"] = refused.message
            body = f"<html><body><h1>{refused.status}</h1><p>{html.escape(refused.message)}</p></body></html>"
            return respond(start_response, refused.status, body.encode(), "text/html")

    @staticmethod
    def _one(query: dict, name: str) -> str | None:
        values = query.get(name)
        if values is None:
            return None
        if len(values) != 1:
            raise _Refused(400, f"{name} given more than once")
        return values[0]

    def _signin_token(self, query, record, start_response):
        raw = self._one(query, "Session")
        try:
            session = json.loads(raw or "")
            key_id, key, token = session["sessionId"], session["sessionKey"], session["sessionToken"]
        except (ValueError, KeyError, TypeError):
            raise _Refused(400, BAD_CREDENTIALS)
        record["key"] = key_id if isinstance(key_id, str) else ""
        principal = self.rules.temporary.get(key_id) if isinstance(key_id, str) else None
        if principal is None or principal.secret != key or principal.session_token != token:
            raise _Refused(400, BAD_CREDENTIALS)
        if principal.expires <= time.time():
            raise _Refused(400, "The security token included in the request is expired")
        if not principal.chained:
            raise _Refused(400, NOT_ROLE)
        duration = self._one(query, "SessionDuration")
        if duration is not None:
            if not duration.isdigit() or not 900 <= int(duration) <= 43200:
                raise _Refused(400, "SessionDuration must be between 900 and 43200 seconds")
            if principal.from_session:
                # AWS: a SessionDuration needs a role assumed with long-term credentials.
                raise _Refused(400, BAD_CREDENTIALS)
        signin_token = secrets.token_urlsafe(240)
        with self.lock:
            self.tokens[signin_token] = (principal, time.time() + TOKEN_LIFETIME, int(duration) if duration else None)
        body = json.dumps({"SigninToken": signin_token}).encode()
        return respond(start_response, 200, body, "application/json")

    def _login(self, environ, query, start_response):
        token = self._one(query, "SigninToken") or ""
        destination = self._one(query, "Destination") or ""
        with self.lock:
            found = self.tokens.pop(token, None)  # good once
        if found is None or found[1] <= time.time():
            raise _Refused(400, "The sign-in token is invalid, expired or was already used")
        principal, _, duration = found
        partition = principal.arn.split(":")[1]
        parts = urlsplit(destination)
        domain = CONSOLE_DOMAINS.get(partition, "")
        host = parts.hostname or ""
        if parts.scheme != "https" or not domain or not (host == domain or host.endswith("." + domain)):
            raise _Refused(400, f"The Destination is not a console URL of partition {partition}")
        sign_in = SignIn(principal.arn, destination, self._one(query, "Issuer") or "", duration, time.time())
        cookie = secrets.token_urlsafe(24)
        with self.lock:
            self.sign_ins.append(sign_in)
            self.consoles[cookie] = sign_in
        target = CONSOLE_PREFIX + parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
        target += f"#{parts.fragment}" if parts.fragment else ""
        headers = [("Location", target), ("Set-Cookie", f"{COOKIE}={cookie}; Path=/; HttpOnly")]
        return respond(start_response, 302, b"", "text/html", headers)

    def _logout(self, environ, query, start_response):
        redirect = self._one(query, "redirect_uri") or ""
        parts = urlsplit(redirect)
        if parts.netloc != environ.get("HTTP_HOST", "") or parts.path not in PATHS:
            raise _Refused(400, "redirect_uri must be a URL of this sign-in service")
        with self.lock:
            self.logouts += 1
        headers = [("Location", redirect), ("Set-Cookie", f"{COOKIE}=; Path=/; Max-Age=0")]
        return respond(start_response, 302, b"", "text/html", headers)

    def _console(self, environ, start_response):
        cookies = dict(part.strip().split("=", 1) for part in environ.get("HTTP_COOKIE", "").split(";") if "=" in part)
        sign_in = self.consoles.get(cookies.get(COOKIE, ""))
        if sign_in is None:
            raise _Refused(403, "You are not signed in to the local console")
        page = (
            "<html><head><title>Local AWS console</title></head><body>"
            f"<h1>Local AWS console</h1><p id='signed-in-as'>Signed in as {html.escape(sign_in.arn)}</p>"
            f"<p id='destination'>Destination: {html.escape(sign_in.destination)}</p></body></html>"
        )
        return respond(start_response, 200, page.encode(), "text/html")
