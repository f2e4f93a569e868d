"""IAM: what a first run discovers (the user's MFA devices, the role's ARN and maximum duration)
and the source user's access keys (keys rotate, keys list --check)."""

from __future__ import annotations


class Iam:
    def __init__(self, connection):
        self.connection = connection

    def _call(self, operation: str, credentials=None, attempts: int = 3, **params):
        client = self.connection.client("iam", credentials, attempts)
        return self.connection.call(client, operation, **params)

    def list_mfa_devices(self) -> list[str]:
        return [d["SerialNumber"] for d in self._call("list_mfa_devices").get("MFADevices", [])]

    def describe_role(self, name: str) -> dict:
        """iam:GetRole for a role in the source account: ARN, MaxSessionDuration, trust policy."""
        return self._call("get_role", RoleName=name)["Role"]

    def get_role(self, name: str) -> tuple[str, int]:
        """(ARN, MaxSessionDuration) of a role in the source account."""
        role = self.describe_role(name)
        return role["Arn"], int(role.get("MaxSessionDuration") or 3600)

    def create_access_key(self):
        """A new access key for the source user (its second: IAM allows two)."""
        from ..keystore import Keys

        key = self._call("create_access_key", attempts=1)["AccessKey"]
        return Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def delete_access_key(self, access_key_id: str, signer) -> None:
        """Delete `access_key_id`, signing with `signer` (the other key)."""
        self._call("delete_access_key", signer, AccessKeyId=access_key_id)

    def access_key_created(self, access_key_id: str):
        """When IAM says the key was created (None when IAM does not list it)."""
        keys = self._call("list_access_keys").get("AccessKeyMetadata", [])
        return next((k["CreateDate"] for k in keys if k["AccessKeyId"] == access_key_id), None)
