"""S3: Terraform's state bucket, seeded objects, S3's own error shape, and the IAM action each
S3 request is authorised as when IAM policies are enforced."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from .model import ACCOUNT, REGION, Fault, xml_escape

# The IAM action of each S3 API operation whose action is not s3:<operation>, as AWS documents
# them ("Required permissions for Amazon S3 API operations"): a policy that works on AWS grants
# these. moto up to 5.2.5 mapped a set of them itself; 5.2.6 checks s3:<operation>, so that
# s3:GetObject no longer allowed HeadObject, nor s3:ListBucket ListObjectsV2.
IAM_ACTIONS = {
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListBuckets": "ListAllMyBuckets",
    "HeadObject": "GetObject",
    "SelectObjectContent": "GetObject",
    "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "DeleteObjects": "DeleteObject",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketLifecycle": "GetLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycle": "PutLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotification": "PutBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetBucketAnalyticsConfiguration": "GetAnalyticsConfiguration",
    "ListBucketAnalyticsConfigurations": "GetAnalyticsConfiguration",
    "PutBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "DeleteBucketAnalyticsConfiguration": "PutAnalyticsConfiguration",
    "GetBucketInventoryConfiguration": "GetInventoryConfiguration",
    "ListBucketInventoryConfigurations": "GetInventoryConfiguration",
    "PutBucketInventoryConfiguration": "PutInventoryConfiguration",
    "DeleteBucketInventoryConfiguration": "PutInventoryConfiguration",
    "GetBucketMetricsConfiguration": "GetMetricsConfiguration",
    "ListBucketMetricsConfigurations": "GetMetricsConfiguration",
    "PutBucketMetricsConfiguration": "PutMetricsConfiguration",
    "DeleteBucketMetricsConfiguration": "PutMetricsConfiguration",
    "GetBucketIntelligentTieringConfiguration": "GetIntelligentTieringConfiguration",
    "ListBucketIntelligentTieringConfigurations": "GetIntelligentTieringConfiguration",
    "PutBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
}
# With a versionId, these act on one version of an object: the action names the version.
VERSION_ACTIONS = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
}


def iam_action(operation: str, path: str) -> str:
    """The IAM action (s3:...) that authorises the S3 API operation `operation` on `path`
    (with its query string)."""
    action = IAM_ACTIONS.get(operation, operation)
    if "versionId" in parse_qs(urlsplit(path).query, keep_blank_values=True):
        action = VERSION_ACTIONS.get(action, action)
    return f"s3:{action}"


def authorise_by_iam_actions() -> None:
    """Make moto's IAM enforcement (when it is on) check S3 requests against their IAM actions."""
    from moto.iam.access_control import S3IAMRequest

    if getattr(S3IAMRequest, "iam_actions", False):
        return
    original = S3IAMRequest.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._action = iam_action(self._action.split(":", 1)[1], self._path)

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
