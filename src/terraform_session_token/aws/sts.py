"""STS: the role session (AssumeRole), the MFA session (GetSessionToken), and who a key is."""

from __future__ import annotations

from ..errors import CredentialsError, MfaSessionRejected
from ..sessions import Session
from .errors import field, session_from


class Sts:
    def __init__(self, connection):
        self.connection = connection
        self.settings = connection.settings

    def assume_role(
        self,
        role_arn: str,
        session_name: str,
        duration: int,
        serial: str | None = None,
        code: str | None = None,
        credentials: Session | None = None,
    ) -> Session:
        """A role session, signed by the source (with the MFA code) or by `credentials` (an MFA session)."""
        params = dict(RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration)
        if serial and code:
            params.update(SerialNumber=serial, TokenCode=code)
        if self.settings.external_id:
            params["ExternalId"] = self.settings.external_id
        narrowing = self.settings.narrowing
        params.update(narrowing.params())
        # One attempt when a code is sent: AWS accepts each code once.
        client = self.connection.client("sts", credentials, attempts=1 if code else 3)
        try:
            response = self.connection.call(client, "assume_role", **params)
        except CredentialsError:
            if credentials is None:
                raise
            # Signed by the MFA session, not by the source keys: say so, so that it can be replaced.
            raise MfaSessionRejected(
                f"AWS no longer accepts the cached MFA session of source profile [{self.settings.source_profile}]",
                "it expired early or was revoked; run again to start a new one with one code",
            ) from None
        session = session_from(
            field(response, "Credentials"), field(response, "AssumedRoleUser", "Arn"), self.settings.region
        )
        session.narrowing = narrowing.key()
        return session

    def get_session_token(self, duration: int, serial: str, code: str) -> Session:
        """The IAM user's own session with MFA (an MFA session, or a --no-role profile's session)."""
        client = self.connection.client("sts", attempts=1)
        response = self.connection.call(
            client, "get_session_token", DurationSeconds=duration, SerialNumber=serial, TokenCode=code
        )
        return session_from(field(response, "Credentials"), "", self.settings.region)

    def caller_identity(self, credentials=None, attempts: int = 3) -> dict:
        return self.connection.call(self.connection.client("sts", credentials, attempts), "get_caller_identity")
