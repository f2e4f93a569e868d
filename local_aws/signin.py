"""The sign-in service behind `aws login`: CreateOAuth2Token's refresh flow, as botocore's
`signin` model describes it (`POST /v1/token`, rest-json, no SigV4: a DPoP proof instead).

A request must carry a DPoP proof (RFC 9449) that AWS would accept: an ES256 JWT whose header
has `typ` `dpop+jwt` and the public JWK of the key the login session was bound to, whose claims
have `htm` POST, `htu` equal to the URL called, an `iat` within five minutes and a `jti` never
seen before, and whose signature verifies. Only the session's current refresh token is taken,
and it is rotated on every refresh. The new access credentials last 15 minutes and are, for
this STS, the signed-in IAM user's session credentials.

`write_login_cache` writes the cache file the way AWS CLI 2.32 does after `aws login`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .model import Principal

PATH = "/v1/token"
ACCESS_LIFETIME = 900  # seconds: the access token's credentials, as AWS issues them
CLIENT_ID = "arn:aws:signin:::devtools/same-device"
IAT_WINDOW = 300


@dataclass
class LoginSession:
    """One `aws login`: who signed in, the key its proofs must be signed with, its refresh token."""

    account: str
    arn: str
    user_name: str
    jwk: dict
    refresh_token: str
    mfa: bool  # the browser sign-in used MFA: its credentials carry the MFA context
    refuse: str | None = None  # answer AccessDeniedException with this error (TOKEN_EXPIRED, ...)
    issued: list[str] = field(default_factory=list)  # access key ids, first the one `aws login` wrote


class Refused(Exception):
    def __init__(self, status: int, kind: str, error: str, message: str):
        self.status, self.kind, self.error, self.message = status, kind, error, message


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignInService:
    def __init__(self, rules):
        self.rules = rules
        self.lock = threading.Lock()
        self.sessions: list[LoginSession] = []
        self.seen_jti: set[str] = set()
        self.refreshes: list[dict] = []  # every refresh served: session arn, old and new access key

    # -- the login cache ------------------------------------------------------------------------
    def write_login_cache(
        self,
        identity,
        cache_dir: Path,
        session_name: str,
        expired: bool = False,
        mfa: bool = True,
        region: str = "us-east-1",
    ) -> LoginSession:
        """What `aws login` leaves for `session_name`: the file botocore reads and refreshes."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()
        login = LoginSession(
            identity.account, identity.arn, identity.user_name, jwk, "rt-" + secrets.token_urlsafe(32), mfa
        )
        key_id, secret, token, expires = self._issue(login, -60 if expired else ACCESS_LIFETIME)
        with self.lock:
            self.sessions.append(login)
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / (hashlib.sha256(session_name.encode()).hexdigest() + ".json")
        path.write_text(
            json.dumps(
                {
                    "accessToken": {
                        "accessKeyId": key_id,
                        "secretAccessKey": secret,
                        "sessionToken": token,
                        "accountId": identity.account,
                        "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
                    },
                    "tokenType": "aws_sigv4",
                    "refreshToken": login.refresh_token,
                    "idToken": "eyJ" + secrets.token_urlsafe(64),
                    "clientId": CLIENT_ID,
                    "dpopKey": pem,
                    "signInRegion": region,
                },
                indent=2,
            )
        )
        path.chmod(0o600)
        return login

    def _issue(self, login: LoginSession, lifetime: float) -> tuple[str, str, str, float]:
        key_id = "ASIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
        secret = secrets.token_urlsafe(30)[:40]
        token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(120)
        expires = time.time() + lifetime
        principal = Principal(
            login.account,
            login.arn,
            login.user_name,
            expires,
            time.time() if login.mfa else None,
            chained=False,
            session_token=token,
            secret=secret,
        )
        with self.rules.lock:
            self.rules.temporary[key_id] = principal
        login.issued.append(key_id)
        return key_id, secret, token, expires

    # -- CreateOAuth2Token ----------------------------------------------------------------------
    def __call__(self, environ, start_response):
        record = {"service": "signin", "action": "CreateOAuth2Token", "key": "", "time": time.time(), "error": ""}
        with self.rules.lock:
            self.rules.requests.append(record)
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refused(405, "ValidationException", "invalid_request", "CreateOAuth2Token is a POST")
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            except ValueError:
                raise Refused(400, "ValidationException", "invalid_request", "The request body is not JSON")
            answer = self._refresh(environ, body if isinstance(body, dict) else {})
        except Refused as refused:
            record["error"] = refused.error
            payload = json.dumps({"error": refused.error, "message": refused.message}).encode()
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("x-amzn-ErrorType", refused.kind),
                ("x-amzn-RequestId", secrets.token_hex(16)),
            ]
            start_response(f"{refused.status} Refused", headers)
            return [payload]
        payload = json.dumps(answer).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response("200 OK", headers + [("x-amzn-RequestId", secrets.token_hex(16))])
        return [payload]

    def _refresh(self, environ, body: dict) -> dict:
        if body.get("grantType") != "refresh_token":
            raise Refused(400, "ValidationException", "unsupported_grant_type", "Only refresh_token is served here")
        if body.get("clientId") != CLIENT_ID:
            raise Refused(400, "ValidationException", "invalid_client", "Unknown clientId")
        claims, jwk = self._verified_proof(environ)
        with self.lock:
            login = next((s for s in self.sessions if s.refresh_token == body.get("refreshToken")), None)
            if login is None:
                raise Refused(400, "ValidationException", "invalid_grant", "The refresh token is not valid")
            if jwk != login.jwk:
                raise Refused(400, "ValidationException", "invalid_grant", "The DPoP key is not the session's key")
            if login.refuse:
                raise Refused(
                    400, "AccessDeniedException", login.refuse, f"The login session was refused: {login.refuse}"
                )
            old = login.issued[-1]
            key_id, secret, token, _ = self._issue(login, ACCESS_LIFETIME)
            login.refresh_token = "rt-" + secrets.token_urlsafe(32)
            self.refreshes.append({"arn": login.arn, "old": old, "new": key_id, "jti": claims["jti"]})
            return {
                "accessToken": {"accessKeyId": key_id, "secretAccessKey": secret, "sessionToken": token},
                "tokenType": "aws_sigv4",
                "expiresIn": ACCESS_LIFETIME,
                "refreshToken": login.refresh_token,
            }

    def _verified_proof(self, environ) -> tuple[dict, dict]:
        """The DPoP proof's claims and key, once every rule AWS applies to it holds."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        def bad(message: str) -> Refused:
            return Refused(400, "ValidationException", "invalid_request", f"Invalid DPoP proof: {message}")

        proof = environ.get("HTTP_DPOP", "")
        parts = proof.split(".")
        if len(parts) != 3:
            raise bad("missing or not a JWT")
        try:
            header, claims = json.loads(_unb64url(parts[0])), json.loads(_unb64url(parts[1]))
            signature = _unb64url(parts[2])
        except ValueError:
            raise bad("not base64url JSON")
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
            raise bad("typ must be dpop+jwt and alg ES256")
        jwk = header.get("jwk") or {}
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or len(signature) != 64:
            raise bad("the key must be a P-256 JWK")
        try:
            public = ec.EllipticCurvePublicNumbers(
                int.from_bytes(_unb64url(jwk["x"]), "big"), int.from_bytes(_unb64url(jwk["y"]), "big"), ec.SECP256R1()
            ).public_key()
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except (KeyError, ValueError, InvalidSignature):
            raise bad("the signature does not verify")
        scheme = environ.get("wsgi.url_scheme", "http")
        called = f"{scheme}://{environ.get('HTTP_HOST', '')}{environ.get('PATH_INFO', '')}"
        if claims.get("htm") != "POST" or claims.get("htu") != called:
            raise bad(f"htm/htu do not name this request (POST {called})")
        if not isinstance(claims.get("iat"), int) or abs(time.time() - claims["iat"]) > IAT_WINDOW:
            raise bad("iat is not recent")
        jti = claims.get("jti")
        with self.lock:
            if not isinstance(jti, str) or not jti or jti in self.seen_jti:
                raise bad("jti was used before")
            self.seen_jti.add(jti)
        return claims, jwk
