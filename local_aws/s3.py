"""S3: Terraform's state bucket, seeded objects, S3's own error shape, and the IAM action each
S3 request is authorised as when IAM policies are enforced."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from .model import ACCOUNT, REGION, Fault, xml_escape


def authorise_by_iam_actions() -> None:
    """Make moto's own IAM enforcement (when it is on) check S3 requests against the IAM actions AWS
    documents, as iam_request names them: moto up to 5.2.5 mapped a set of them itself; 5.2.6 checks
    s3:<operation>, so that s3:GetObject no longer allowed HeadObject, nor s3:ListBucket ListObjectsV2."""
    from moto.iam.access_control import S3IAMRequest

    if getattr(S3IAMRequest, "iam_actions", False):
        return
    original = S3IAMRequest.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        parts = urlsplit(self._path)
        self._action, _ = iam_request(self._method, parts.path, parse_qs(parts.query, keep_blank_values=True), {})

    S3IAMRequest.__init__ = __init__
    S3IAMRequest.iam_actions = True


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


def get_object(bucket: str, key: str, account: str = ACCOUNT) -> bytes | None:
    """An object's bytes as stored (None when there is none), without a recorded request."""
    from moto.s3.models import s3_backends

    found = s3_backends[account]["aws"].buckets[bucket].keys.get(key)
    return None if found is None else found.value


# S3's requests as the IAM actions AWS authorizes them by (AWS's names: a HEAD of an object is
# s3:GetObject, a part upload s3:PutObject). The one place that maps them.
_LIST_PARAMETERS = {"prefix", "delimiter", "marker", "max-keys", "encoding-type", "list-type", "continuation-token",
                    "start-after", "fetch-owner", "key-marker", "version-id-marker", "upload-id-marker", "max-uploads",
                    "x-id"}  # fmt: skip
_BUCKET_GETS = {
    "": "s3:ListBucket",
    "versions": "s3:ListBucketVersions",
    "uploads": "s3:ListBucketMultipartUploads",
    "location": "s3:GetBucketLocation",
    "encryption": "s3:GetEncryptionConfiguration",
    "lifecycle": "s3:GetLifecycleConfiguration",
    "object-lock": "s3:GetBucketObjectLockConfiguration",
    "publicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "ownershipControls": "s3:GetBucketOwnershipControls",
    "replication": "s3:GetReplicationConfiguration",
}
_OBJECT_SUBRESOURCES = ("acl", "tagging", "retention", "legal-hold", "attributes", "uploadId", "uploads", "restore")


def _subresource(query: dict[str, list[str]], known) -> str:
    return next((name for name in query if name in known), "")


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def iam_request(method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[str, str]:
    """(IAM action, resource ARN) of one path-style S3 request."""
    from urllib.parse import unquote

    bucket, _, key = path.lstrip("/").partition("/")
    key = unquote(key)
    if not bucket:
        return "s3:ListAllMyBuckets", "*"
    if not key:
        arn = f"arn:aws:s3:::{bucket}"
        sub = next((name for name in query if name not in _LIST_PARAMETERS), "")
        if method in ("GET", "HEAD"):
            return _BUCKET_GETS.get(sub) or f"s3:GetBucket{_camel(sub)}", arn
        if method == "POST" and "delete" in query:
            return "s3:DeleteObject", f"{arn}/*"
        verb = {"PUT": "Put", "DELETE": "Delete"}.get(method, "Put")
        if not sub:
            return ("s3:CreateBucket" if verb == "Put" else "s3:DeleteBucket"), arn
        return f"s3:{verb}Bucket{_camel(sub)}", arn
    arn = f"arn:aws:s3:::{bucket}/{key}"
    sub = _subresource(query, _OBJECT_SUBRESOURCES)
    version = "Version" if "versionId" in query else ""
    if method in ("GET", "HEAD"):
        if sub == "uploadId":
            return "s3:ListMultipartUploadParts", arn
        named = {"acl": "Acl", "tagging": "Tagging", "retention": "Retention", "legal-hold": "LegalHold",
                 "attributes": "Attributes"}.get(sub, "")  # fmt: skip
        if named == "Attributes":
            return f"s3:GetObject{version}Attributes", arn
        return f"s3:GetObject{version}{named}", arn
    if method == "DELETE":
        if sub == "uploadId":
            return "s3:AbortMultipartUpload", arn
        return ("s3:DeleteObject" + version + ("Tagging" if sub == "tagging" else "")), arn
    if method == "POST" and sub == "restore":
        return "s3:RestoreObject", arn
    named = {"acl": "Acl", "tagging": "Tagging", "retention": "Retention", "legal-hold": "LegalHold"}.get(sub, "")
    return f"s3:PutObject{named}", arn  # PUT, a copy's destination, a multipart upload's parts


def check_owner(path: str, account: str) -> None:
    """A bucket is its own account's: no bucket policy is modelled here, so a request signed by
    another account's principal is refused, as AWS refuses it when no bucket policy grants it
    (moto would serve it)."""
    from moto.s3.models import s3_backends

    bucket = path.lstrip("/").split("/", 1)[0]
    owner = s3_backends.bucket_accounts.get(bucket)
    if bucket and owner and owner[1] != account:
        raise Fault(403, "AccessDenied", "Access Denied")
