"""DynamoDB: Terraform's lock table, and DynamoDB's own error shape."""

from __future__ import annotations

import json

from .model import ACCOUNT, REGION, Fault

CODES = {"ExpiredToken": "ExpiredTokenException", "InvalidClientTokenId": "UnrecognizedClientException"}


def error_body(fault: Fault) -> tuple[bytes, str]:
    code = CODES.get(fault.code, fault.code)
    body = json.dumps({"__type": f"com.amazon.coral.service#{code}", "message": fault.message})
    return body.encode(), "application/x-amz-json-1.0"


def create_lock_table(table: str, account: str = ACCOUNT) -> None:
    from moto.dynamodb.models import dynamodb_backends

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
