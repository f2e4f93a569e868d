"""The only package that imports botocore: one connection for the source identity, one class per
AWS service, and AWS's failures in plain words. Imported lazily, by the commands that call AWS.

connection.py  the source's botocore session, clients, and the total deadline of one call
sts.py         AssumeRole, GetSessionToken, GetCallerIdentity
iam.py         discovery (ListMFADevices, GetRole) and access keys (keys rotate)
signin.py      an `aws login` source: botocore's refresh of it, once for parallel runs
federation.py  the console's sign-in token (getSigninToken)
errors.py      botocore's and AWS's failures as the tool's errors
"""

from __future__ import annotations

from .connection import Connection, call_deadline
from .federation import signin_token
from .iam import Iam
from .sts import Sts

__all__ = ["Connection", "Iam", "Sts", "call_deadline", "signin_token"]
