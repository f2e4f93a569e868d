"""S3: Terraform's state bucket, seeded objects, and S3's own error shape."""

from __future__ import annotations

import uuid

from .model import ACCOUNT, REGION, Fault, xml_escape


def error_body(fault: Fault) -> tuple[bytes, str]:
    code = {"InvalidClientTokenId": "InvalidAccessKeyId"}.get(fault.code, fault.code)
    message = xml_escape(fault.message)
    body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
    return body.encode(), "application/xml"


def create_bucket(bucket: str, account: str = ACCOUNT) -> None:
    from moto.s3.models import s3_backends

    s3 = s3_backends[account]["aws"]
    if bucket not in s3.buckets:
        s3.create_bucket(bucket, REGION)


def put_object(bucket: str, key: str, body: bytes, account: str = ACCOUNT) -> None:
    """Seed an object (a state another stack wrote) without a recorded request."""
    from moto.s3.models import s3_backends

    s3_backends[account]["aws"].put_object(bucket, key, body)


def check_owner(path: str, account: str) -> None:
    """A bucket is its own account's: no bucket policy is modelled here, so a request signed by
    another account's principal is refused, as AWS refuses it when no bucket policy grants it
    (moto would serve it)."""
    from moto.s3.models import s3_backends

    bucket = path.lstrip("/").split("/", 1)[0]
    owner = s3_backends.bucket_accounts.get(bucket)
    if bucket and owner and owner[1] != account:
        raise Fault(403, "AccessDenied", "Access Denied")
