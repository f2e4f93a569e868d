"""DynamoDB: Terraform's lock table, and DynamoDB's own error shape."""

from __future__ import annotations

import json

from .model import ACCOUNT, REGION, Fault

CODES = {
    "ExpiredToken": "ExpiredTokenException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "AccessDenied": "AccessDeniedException",
}


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


def iam_request(target: str, body: bytes, account: str, region: str) -> tuple[str, str, dict]:
    """(IAM action, resource ARN, condition context) of one DynamoDB request: the context holds
    dynamodb:LeadingKeys, the partition key values of the items it touches."""
    import json

    from moto.dynamodb.models import dynamodb_backends

    action = "dynamodb:" + target.rpartition(".")[2]
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = {}
    request = request if isinstance(request, dict) else {}
    name = request.get("TableName")
    if not isinstance(name, str):
        return action, "*", {}
    context: dict = {}
    table = dynamodb_backends[account][region].tables.get(name) if account in dynamodb_backends else None
    item = request.get("Key") or request.get("Item")
    if table is not None and isinstance(item, dict) and isinstance(item.get(table.hash_key_attr), dict):
        value = next(iter(item[table.hash_key_attr].values()), None)
        if isinstance(value, str):
            context["dynamodb:LeadingKeys"] = [value]
    return action, f"arn:aws:dynamodb:{region}:{account}:table/{name}", context
