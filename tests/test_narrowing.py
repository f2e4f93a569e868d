"""Session policies, source identity and tags as values: the checks, the form sent, the key a session
carries, and the config file's lists (pure functions)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terraform_session_token import narrowing, options
from terraform_session_token.errors import ConfigError, UsageError

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def build(origins=None, no_role=False, **values):
    return narrowing.build(values, origins or {}, "[profile p] of config", no_role)


def test_the_policy_is_sent_compact_with_what_aws_does_not_take_escaped():
    sent = build(
        session_policy='{\n  "Statement": [ {"Sid": "caf\u00e9 \u20ac"} ],\n\t"Version": "2012-10-17"\n}'
    ).policy
    assert sent == '{"Statement":[{"Sid":"caf\u00e9 \\u20ac"}],"Version":"2012-10-17"}'
    assert json.loads(sent)["Statement"][0]["Sid"] == "caf\u00e9 \u20ac"
    assert all(c in "\t\n\r" or 0x20 <= ord(c) <= 0xFF for c in sent)


def test_the_key_ignores_order_and_case_of_tag_keys_but_not_values():
    a = build(policy_arns=[READ_ONLY, "arn:aws:iam::aws:policy/Other"], session_tags=["Team=a", "Env=b"])
    b = build(policy_arns=["arn:aws:iam::aws:policy/Other", READ_ONLY], session_tags=["Env=b", "Team=a"])
    c = build(policy_arns=[READ_ONLY, "arn:aws:iam::aws:policy/Other"], session_tags=["Team=A", "Env=b"])
    assert a.key() == b.key() != c.key()
    assert narrowing.Narrowing().key() == "" and not narrowing.Narrowing()
    assert narrowing.describe_key(a.key()) == "narrowed to Other + ReadOnlyAccess, 2 session tags"
    assert "=a" not in a.key() and "Team" not in a.key(), "no tag in what files and status show"


def test_refusals_name_the_flag_or_the_file():
    with pytest.raises(UsageError, match="^--source-identity: 'a b'"):
        build(source_identity="a b")
    with pytest.raises(ConfigError) as info:
        build(origins={"source_identity": "config source_identity"}, source_identity="a b")
    assert info.value.message.startswith("source_identity in [profile p] of config: 'a b'")
    assert info.value.hint.startswith("fix it there")


@pytest.mark.parametrize("limit", [10])
def test_ten_policy_arns_and_fifty_tags_are_allowed(limit):
    arns = [f"arn:aws:iam::123456789012:policy/p{n}" for n in range(limit)]
    assert len(build(policy_arns=arns, session_tags=[f"k{n}=" for n in range(50)]).params()["Tags"]) == 50


arn_names = st.text(st.sampled_from("abcXYZ019_+=,.@-"), min_size=1, max_size=12)


@given(st.lists(arn_names.map(lambda n: f"arn:aws:iam::123456789012:policy/{n}"), min_size=1, max_size=10))
def test_policy_arns_read_back_as_configure_writes_them(arns):
    option = options.BY_DEST["policy_arns"]
    assert option.split(option.config_text(arns)) == arns


tag_text = st.text(st.sampled_from("ab Z9_.:/=+-@\u00e9"), min_size=1, max_size=10).map(str.strip).filter(bool)


@given(st.lists(st.tuples(tag_text.filter(lambda k: "=" not in k), tag_text), min_size=1, max_size=5))
def test_tags_read_back_as_configure_writes_them(pairs):
    option = options.BY_DEST["session_tags"]
    items = [f"{k}={v}" for k, v in pairs]
    assert option.split(option.config_text(items)) == items


def test_the_config_file_may_separate_arns_with_commas_or_white_space():
    text = f"{READ_ONLY},arn:aws:iam::1:policy/a,b  arn:aws:iam::1:policy/c\tarn:aws:iam::1:policy/d,"
    text += " arn:aws:iam::1:policy/e"
    assert narrowing.split_arns(text) == [
        READ_ONLY, "arn:aws:iam::1:policy/a,b", "arn:aws:iam::1:policy/c", "arn:aws:iam::1:policy/d,",
        "arn:aws:iam::1:policy/e",
    ]  # fmt: skip
