"""What configure and runs write into a config section, and taking either back: properties over
generated files (configure --remove and clear, in either order, give back every byte)."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_inifile import botocore_parse, ini_files

from terraform_session_token import inifile, marks

SECTION = "profile p"
NAMES = st.sampled_from(["default", SECTION, "profile x", "other"])
CONFIGURE_KEYS = ["credential_process", "region", "session_role_name", "session_role_arn", "mfa_serial", "mfa_session"]
REMEMBER_KEYS = ["mfa_serial", "session_role_arn", "session_source_profile"]
VALUE = st.sampled_from(["a", "b", "arn:aws:iam::123456789012:role/R", "TerraformRole", "x y"])


@st.composite
def configure_step(draw):
    keys = draw(st.lists(st.sampled_from(CONFIGURE_KEYS), unique=True, min_size=1, max_size=4))
    values = {k: draw(st.one_of(VALUE, st.none()) if k != "credential_process" else VALUE) for k in keys}
    return ("configure", values)


@st.composite
def remember_step(draw):
    keys = draw(st.lists(st.sampled_from(REMEMBER_KEYS), unique=True, min_size=1, max_size=3))
    return ("remember", {k: draw(VALUE) for k in keys})


def remember(text: str, values: dict[str, str]) -> str:
    """As a run remembers: keys that are missing, and a role name replaced by its ARN."""
    current = inifile.section_values(text, SECTION) or {}
    wanted = {
        k: v
        for k, v in values.items()
        if not current.get(k) or (k == "session_role_arn" and not current[k].startswith("arn:"))
    }
    return marks.write(text, SECTION, marks.REMEMBERED, wanted) if wanted else text


def apply(text: str, steps, only: str | None = None) -> str:
    for kind, values in steps:
        if only and kind != only:
            continue
        text = marks.write(text, SECTION, marks.CONFIGURED, values) if kind == "configure" else remember(text, values)
        inifile.parse(text)  # every step leaves a file botocore reads
    return text


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(ini_files(names=NAMES), st.lists(st.one_of(configure_step(), remember_step()), min_size=1, max_size=5),
       st.booleans())  # fmt: skip
def test_configure_remove_and_clear_in_either_order_give_back_every_byte(base, steps, clear_first):
    assume(botocore_parse(base) is not None)
    try:
        inifile.parse(inifile.set_section(base, SECTION, {"probe": "a"}))
    except inifile.IniSyntaxError:
        assume(False)  # a [DEFAULT] value the section would inherit that botocore can't read: refused before any write
    text = apply(base, steps)
    order = (marks.REMEMBERED, marks.CONFIGURED) if clear_first else (marks.CONFIGURED, marks.REMEMBERED)
    middle, _ = marks.take_back(text, SECTION, order[0])
    inifile.parse(middle)
    end, _ = marks.take_back(middle, SECTION, order[1])
    mine = inifile.section_values(base, SECTION) or {}
    if any(v is None and k in mine for kind, values in steps if kind == "configure" for k, v in values.items()):
        # A key of the user's that configure deleted (--no-role) comes back, at the section's end.
        assert inifile.parse(end) == inifile.parse(base)
    else:
        assert end == base
    if clear_first:
        # clear keeps what configure was told: the values are those of configure alone.
        alone = apply(base, steps, only="configure")
        assert inifile.parse(middle) == inifile.parse(alone)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(ini_files(names=NAMES), st.lists(st.one_of(configure_step(), remember_step()), min_size=1, max_size=5))
def test_other_sections_are_never_touched(base, steps):
    parsed = botocore_parse(base)
    assume(parsed is not None)
    try:
        text = apply(base, steps)
    except inifile.IniSyntaxError:
        return
    after = inifile.parse(text)
    assert {k: v for k, v in parsed.items() if k != SECTION} == {k: v for k, v in after.items() if k != SECTION}


def test_a_line_of_2_0_0_is_read_as_configure_when_it_lists_credential_process():
    configured = (
        "[profile p]\n# terraform-session-token wrote: credential_process session_role_arn"
        ' replaced: {"region":"eu-west-1"}\ncredential_process = tst\nsession_role_arn = TerraformRole\n'
        "region = us-east-1\n"
    )
    layers = marks.read(configured, SECTION)
    assert list(layers) == [marks.CONFIGURED]
    assert layers[marks.CONFIGURED].keys == ["credential_process", "session_role_arn", "region"]
    assert marks.take_back(configured, SECTION, marks.REMEMBERED)[0] == configured, "clear keeps it"
    assert marks.take_back(configured, SECTION, marks.CONFIGURED)[0] == "[profile p]\nregion = eu-west-1\n"
    remembered = "[x]\n\n[profile p]\n# terraform-session-token wrote: mfa_serial\nmfa_serial = arn:m\n"
    assert marks.take_back(remembered, SECTION, marks.REMEMBERED)[0] == "[x]\n"


def test_a_run_that_resolves_configures_role_name_is_taken_back_to_the_name():
    text = marks.write("", SECTION, marks.CONFIGURED, {"credential_process": "tst", "session_role_arn": "Role"})
    text = marks.write(text, SECTION, marks.REMEMBERED, {"session_role_arn": "arn:aws:iam::1:role/Role"})
    cleared, removed = marks.take_back(text, SECTION, marks.REMEMBERED)
    assert removed == ["session_role_arn"]
    assert inifile.parse(cleared)[SECTION] == {"credential_process": "tst", "session_role_arn": "Role"}


def test_a_hand_edited_was_that_is_not_the_keys_line_is_ignored():
    text = (
        "[profile p]\n# terraform-session-token configured: region was: "
        '{"region":"[evil]\\nregion = x"}\nregion = us-east-1\n'
    )
    assert marks.take_back(text, SECTION, marks.CONFIGURED)[0] == "[profile p]\n"
