"""The INI editor: properties over generated files, checked against botocore's own parser."""

from __future__ import annotations

import os
import tempfile

import pytest
from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from terraform_session_token import inifile

NAMES = st.sampled_from(["default", "terraform_session", "prod", "profile dev", "a.b-c", "DEFAULT", "x"])
KEYS = st.sampled_from(
    ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region", "Region", "output", "expiration"]
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
SPACE = st.sampled_from(["", " ", "  ", "\t"])
EOL = st.sampled_from(["\n", "\r\n"])


@st.composite
def ini_lines(draw):
    kind = draw(st.sampled_from(["header", "key", "key", "key", "continuation", "comment", "blank"]))
    if kind == "header":
        return draw(SPACE) + "[" + draw(NAMES) + "]" + draw(st.sampled_from(["", " ", " # c"]))
    if kind == "key":
        return draw(SPACE) + draw(KEYS) + draw(SPACE) + draw(st.sampled_from(["=", ":"])) + draw(SPACE) + draw(TEXT)
    if kind == "continuation":
        return draw(st.sampled_from(["    ", "\t", "      "])) + draw(TEXT)
    if kind == "comment":
        return draw(SPACE) + draw(st.sampled_from(["#", ";"])) + draw(TEXT)
    return draw(st.sampled_from(["", " ", "\t"]))


@st.composite
def ini_files(draw, names=NAMES, min_sections=0):
    """Mostly well-formed files (unique sections, each opened by a header), with odd lines mixed in."""
    lines = [draw(st.sampled_from(["#", ";", ""])) + draw(TEXT) for _ in range(draw(st.integers(0, 2)))]
    for name in draw(st.lists(names, unique=True, min_size=min_sections, max_size=4)):
        lines.append(draw(SPACE) + "[" + name + "]" + draw(st.sampled_from(["", " ", " # c"])))
        lines += draw(st.lists(ini_lines(), max_size=5))
    mixed = draw(st.booleans())
    eol = draw(EOL)
    parts = []
    for line in lines:
        parts.append(line + (draw(st.sampled_from(["\n", "\r\n", "\r"])) if mixed else eol))
    text = "".join(parts)
    if text and draw(st.booleans()):
        text = text.rstrip("\r\n")  # no final newline
    return text


def botocore_parse(text: str):
    """What botocore (and so the AWS CLI) reads from this text, or None if it can't."""
    fd, path = tempfile.mkstemp()
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        raw_config_parse(path)  # as botocore reads the files: nested values must be key = value lines
        return raw_config_parse(path, parse_subsections=False)
    except (ConfigParseError, UnicodeDecodeError):
        return None
    finally:
        os.unlink(path)


def split_around(text: str, name: str) -> tuple[str, str, str]:
    """(before, section, after) as text, the section from its header to the next header."""
    lines = inifile.scan(text)
    spans = inifile._spans(lines, name)
    if not spans:
        return text, "", ""
    start, end = spans[0]

    def join(part):
        return "".join(ln.text + ln.eol for ln in part)

    return join(lines[:start]), join(lines[start:end]), join(lines[end:])


VALUES = {
    "aws_access_key_id": "ASIAEXAMPLEKEY",
    "aws_secret_access_key": "secret/with+chars=",
    "aws_session_token": "token#with;comment=chars[x]",
    "expiration": "2030-01-01T00:00:00Z",
}
MARKER = "# managed by terraform-session-token"


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(ini_files(), st.sampled_from(["terraform_session", "prod", "new_profile", "default"]))
# A nested value whose lines end with \x85 (NEL): botocore splits it with str.splitlines.
@example("[DEFAULT]\nregion=\n aws_access_key_id=\x850\n", "terraform_session")
def test_writing_a_section_changes_nothing_else(text, name):
    before_parse = botocore_parse(text)
    assume(before_parse is not None)
    assert inifile.parse(text) == before_parse  # our reading is botocore's reading

    new = inifile.set_section(text, name, VALUES, marker=MARKER)
    try:
        inifile.parse(new)
    except inifile.IniSyntaxError:
        # e.g. a [DEFAULT] value the new section would inherit that botocore can't read:
        # the tool parses every edit before writing it, and refuses this one.
        assert botocore_parse(new) is None
        return

    after_parse = botocore_parse(new)
    assert after_parse is not None, "the result must parse with botocore"
    for key, value in VALUES.items():
        assert after_parse[name][key] == value
    if name in before_parse:
        # Every byte outside the section is identical; the section keeps keys we don't own.
        b0, _, a0 = split_around(text, name)
        b1, _, a1 = split_around(new, name)
        assert (b0, a0) == (b1, a1)
        for key, value in before_parse[name].items():
            if key not in VALUES:
                assert after_parse[name][key] == value
    else:
        assert new.startswith(text)
        assert inifile.remove_section(new, name) == text  # removing restores the rest exactly
    for other, values in before_parse.items():
        if other != name:
            assert after_parse[other] == values


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(ini_files())
def test_rewriting_is_stable(text):
    assume(botocore_parse(text) is not None)
    once = inifile.set_section(text, "terraform_session", VALUES, marker=MARKER)
    assert inifile.set_section(once, "terraform_session", VALUES, marker=MARKER) == once


PLAIN_NAMES = st.sampled_from(["default", "terraform_session", "prod", "profile dev", "a.b-c", "x"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(ini_files(names=PLAIN_NAMES, min_sections=1))
def test_removing_a_present_section_keeps_other_sections(text):
    parsed = botocore_parse(text)
    assume(parsed is not None)
    name = next(iter(parsed), None)
    assume(name is not None)
    after = botocore_parse(inifile.remove_section(text, name))
    assert after is not None and name not in after
    assert {k: v for k, v in parsed.items() if k != name} == after


def test_keys_replaced_in_place_and_comments_kept():
    text = "[a]\r\nx = 1\r\n\r\n[terraform_session]\r\n; mine\r\nregion=eu-west-1\r\naws_access_key_id = OLD\r\n"
    new = inifile.set_section(text, "terraform_session", {"aws_access_key_id": "NEW", "expiration": "T"})
    assert new == (
        "[a]\r\nx = 1\r\n\r\n[terraform_session]\r\n; mine\r\nregion=eu-west-1\r\n"
        "aws_access_key_id = NEW\r\nexpiration = T\r\n"
    )


def test_append_to_file_without_final_newline_and_undo():
    text = "[default]\nregion = x"
    new = inifile.set_section(text, "s", {"aws_access_key_id": "K"})
    assert new == "[default]\nregion = x\n[s]\naws_access_key_id = K\n"
    assert inifile.remove_section(new, "s") == text


def test_indented_key_keeps_its_indentation():
    text = "[s]\n  aws_access_key_id = A\n region = r\n"
    new = inifile.set_section(text, "s", {"aws_access_key_id": "B"})
    assert inifile.parse(new)["s"] == {"aws_access_key_id": "B", "region": "r"}


@pytest.mark.parametrize("name", ["a]b", "a[b", "a\nb", "a=b", " a", "a ", "", "DEFAULT", "a;b", "a#b", "a b"])
def test_profile_names_that_could_inject_are_refused(name):
    with pytest.raises(ValueError):
        inifile.check_profile_name(name)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", " lead", "trail "])
def test_values_that_could_inject_are_refused(value):
    with pytest.raises(ValueError):
        inifile.set_section("", "s", {"aws_session_token": value})


def test_duplicate_sections_are_reported():
    with pytest.raises(inifile.IniSyntaxError):
        inifile.parse("[s]\na = 1\n[s]\nb = 2\n")
    with pytest.raises(inifile.IniSyntaxError):
        inifile.set_section("[s]\na = 1\n[s]\nb = 2\n", "s", {"a": "x"})


def test_patterns_are_configparsers():
    import configparser

    assert inifile._SECTION.pattern.replace(" ", "") == "".join(
        line.split("#")[0].strip() for line in configparser.RawConfigParser._SECT_TMPL.splitlines()
    )
    assert inifile._OPTION.pattern == "".join(
        line.split("#")[0].strip() for line in configparser.RawConfigParser._OPT_TMPL.splitlines()
    ).format(delim="=|:")


@st.composite
def session_sequences(draw):
    """A file, then sections the tool adds one after another, then some cleared one by one."""
    base = draw(ini_files(names=st.sampled_from(["default", "profile x", "other"])))
    added = draw(
        st.lists(st.sampled_from(["profile a", "profile b", "profile c", "profile d"]), unique=True, min_size=1)
    )
    cleared_first = draw(st.lists(st.sampled_from(added), unique=True))
    return base, added, cleared_first


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(session_sequences())
def test_sections_added_then_cleared_in_any_order_give_back_the_original_bytes(case):
    """configure -p a, -p b, -p c ..., clear -p b, then clear --all: the original file, byte for byte."""
    base, added, cleared_first = case
    assume(botocore_parse(base) is not None)
    assume(all(name not in inifile.parse(base) for name in added))
    text = base
    for name in added:
        text = inifile.set_section(text, name, {"credential_process": "tst credential-process", "region": "eu-west-1"},
                                   marker="# terraform-session-token wrote: credential_process region")  # fmt: skip
    for name in cleared_first:
        text = inifile.remove_sections(text, [name])
    text = inifile.remove_sections(text, [n for n in added if n not in cleared_first])
    assert text == base
