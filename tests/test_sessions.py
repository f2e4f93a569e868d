"""Session shapes and validity: pure functions, no files or network."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from terraform_session_token.sessions import Session, describe_left, format_time, parse_time

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
ARN = "arn:aws:sts::123456789012:assumed-role/TerraformRole/alice"


def session(minutes: int, arn: str = ARN) -> Session:
    return Session("ASIA", "secret", "token", NOW + timedelta(minutes=minutes), arn, "eu-west-1")


@pytest.mark.parametrize(
    ("minutes", "margin", "fresh"), [(60, 300, True), (5, 300, False), (6, 300, True), (-1, 0, False)]
)
def test_freshness_with_margin(minutes, margin, fresh):
    assert session(minutes).is_fresh(margin, NOW) is fresh


def test_round_trips():
    s = session(60)
    again = Session.from_profile({k: v for k, v in s.profile_values().items() if v is not None})
    assert (again.access_key_id, again.expiration, again.arn, again.region) == ("ASIA", s.expiration, ARN, "eu-west-1")
    cached = Session.from_cache_json(s.cache_json())
    assert cached.session_token == "token" and cached.expiration == s.expiration
    process = json.loads(s.process_json())
    assert process == {
        "Version": 1,
        "AccessKeyId": "ASIA",
        "SecretAccessKey": "secret",
        "SessionToken": "token",
        "Expiration": "2026-11-25T13:00:00Z",
    }


@pytest.mark.parametrize("broken", [{}, {"aws_access_key_id": "A"}, {"expiration": "soon"}])
def test_incomplete_profiles_are_not_sessions(broken):
    assert Session.from_profile(broken) is None


def test_legacy_security_token_is_removed_when_written():
    assert session(60).profile_values()["aws_security_token"] is None


@pytest.mark.parametrize(
    ("role", "matches"),
    [
        (None, True),
        ("TerraformRole", True),
        ("OtherRole", False),
        ("arn:aws:iam::123456789012:role/TerraformRole", True),
        ("arn:aws:iam::210987654321:role/TerraformRole", False),
        ("arn:aws:iam::123456789012:role/path/TerraformRole", True),
    ],
)
def test_is_for_role(role, matches):
    assert session(60).is_for_role(role, source_account="123456789012") is matches


def test_a_role_known_by_name_matches_only_in_the_source_account():
    assert session(60).is_for_role("TerraformRole", source_account="210987654321") is False
    assert session(60).is_for_role("TerraformRole", source_account=None) is False, "account unknown: no match"


def test_time_helpers():
    assert parse_time("2026-11-25T12:00:00Z") == NOW
    assert parse_time("2026-11-25T12:00:00") == NOW  # naive means UTC
    assert parse_time("not a time") is None
    assert format_time(NOW) == "2026-11-25T12:00:00Z"
    assert describe_left(0) == "expired"
    assert describe_left(125 * 60) == "2 h 05 min left"
    assert describe_left(59) == "0 min left"
