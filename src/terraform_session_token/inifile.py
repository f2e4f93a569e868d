"""Pure editing of AWS INI files: read, replace or remove one section, every other byte kept.

Sections, keys and continuation lines are recognised exactly as Python's configparser
(which botocore uses) recognises them, so what we edit is what AWS readers read.
Nothing here touches the file system.
"""

from __future__ import annotations

import functools
import re

# configparser's own patterns (RawConfigParser.SECTCRE and OPTCRE with the default "=" and
# ":" delimiters), restated so the fast paths need not import configparser; a test checks
# they stay identical.
_SECTION = re.compile(r"\[(?P<header>.+)\]")
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$")
_NONSPACE = re.compile(r"\S")
# TextIOWrapper's universal newlines: what configparser sees as line ends.
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
DEFAULT_SECTION = "DEFAULT"
PROFILE_NAME = re.compile(r"[A-Za-z0-9_.@+:/-]+")


class IniSyntaxError(ValueError):
    """The text is not something configparser (and so botocore) can read."""


class Line:
    """One physical line: its text, its line ending, and what configparser makes of it."""

    __slots__ = ("text", "eol", "kind", "section", "key")

    def __init__(self, text: str, eol: str, kind: str, section: str | None = None, key: str | None = None):
        self.text, self.eol, self.kind, self.section, self.key = text, eol, kind, section, key


def split_lines(text: str) -> list[tuple[str, str]]:
    """Split into (content, line ending) pairs the way configparser's file reader does."""
    pairs = [m.groups() for m in _LINE.finditer(text)]
    if pairs and pairs[-1] == ("", ""):
        pairs.pop()  # the empty match at the very end is no line
    return pairs


def scan(text: str) -> list[Line]:
    """Classify every line, following configparser's reading rules step by step."""
    return list(_scan(text))


@functools.lru_cache(maxsize=4)
def _scan(text: str) -> tuple[Line, ...]:
    """One run classifies a text once, however many lookups it makes (Lines are never mutated)."""
    lines: list[Line] = []
    section: str | None = None
    option: str | None = None
    indent_level = 0
    for content, eol in split_lines(text):
        line = content + "\n"
        stripped = line.strip()
        if stripped.startswith(("#", ";")):
            lines.append(Line(content, eol, "comment", section))
            continue
        if not stripped:
            lines.append(Line(content, eol, "blank", section))
            continue
        first = _NONSPACE.search(line)
        indent = first.start() if first else 0
        if section is not None and option and indent > indent_level:
            lines.append(Line(content, eol, "continuation", section, option))
            continue
        indent_level = indent
        header = _SECTION.match(stripped)
        if header:
            section = header.group("header")
            option = None
            lines.append(Line(content, eol, "header", section))
            continue
        m = _OPTION.match(stripped) if section is not None else None
        if m and m.group("option"):
            option = m.group("option").rstrip().lower()
            lines.append(Line(content, eol, "key", section, option))
        else:
            lines.append(Line(content, eol, "bad", section))
    return tuple(lines)


def parse(text: str) -> dict[str, dict[str, str]]:
    """Sections and their values as configparser reports them; raises IniSyntaxError."""
    raw: dict[str, dict[str, list[str]]] = {}
    seen_sections: set[str] = set()
    current: dict[str, list[str]] | None = None
    option: str | None = None
    for number, line in enumerate(scan(text), start=1):
        if line.kind == "header":
            if line.section in seen_sections and line.section != DEFAULT_SECTION:
                raise IniSyntaxError(f"line {number}: section [{line.section}] appears twice")
            seen_sections.add(line.section)
            current = raw.setdefault(line.section, {})
            option = None
        elif line.kind == "key":
            if line.key in current:
                raise IniSyntaxError(f"line {number}: key '{line.key}' appears twice in [{line.section}]")
            value = _OPTION.match(line.text.strip()).group("value").strip()
            current[line.key] = [value]
            option = line.key
        elif line.kind == "continuation":
            current[option].append(line.text.strip())
        elif line.kind == "blank" and current is not None and option:
            current[option].append("")
        elif line.kind == "bad":
            where = "before any [section] header" if line.section is None else "is not key = value"
            raise IniSyntaxError(f"line {number} {where}")
    defaults = raw.pop(DEFAULT_SECTION, {})
    result = {}
    for name, options in raw.items():
        merged = {**defaults, **options}
        result[name] = {k: "\n".join(v).rstrip() for k, v in merged.items()}
        for key, value in result[name].items():
            # botocore reads a value that starts on the next line as nested `key = value` lines, split
            # as str.splitlines splits (\x85, \x0c, \u2028 ... end a line there too).
            nested = [line.strip() for line in value.splitlines()[1:] if line.strip()]
            if value.startswith("\n") and any("=" not in line for line in nested):
                raise IniSyntaxError(f"[{name}] {key}: a nested line is not key = value")
    return result


def detect_eol(text: str) -> str:
    """The line ending this file uses most: CRLF files stay CRLF."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    return "\r\n" if crlf > lf else "\n"


def check_profile_name(name: str) -> None:
    """Refuse names that would inject into an INI file or mean something else to AWS."""
    if not PROFILE_NAME.fullmatch(name or "") or name == DEFAULT_SECTION:
        raise ValueError(f"invalid profile name {printable(name)}: use letters, digits and _ . @ + : / - only")


def printable(value) -> str:
    """A value from a file or the network, safe to show on a terminal: quoted, control characters escaped."""
    from .errors import terminal_safe

    return "'" + terminal_safe(value) + "'"


def _spans(lines: list[Line], name: str) -> list[tuple[int, int]]:
    starts = [i for i, ln in enumerate(lines) if ln.kind == "header" and ln.section == name]
    spans = []
    for start in starts:
        end = start + 1
        while end < len(lines) and lines[end].kind != "header":
            end += 1
        spans.append((start, end))
    return spans


def _single_span(lines: list[Line], name: str) -> tuple[int, int] | None:
    spans = _spans(lines, name)
    if len(spans) > 1:
        raise IniSyntaxError(f"section [{name}] appears {len(spans)} times")
    return spans[0] if spans else None


def _join(lines: list[Line]) -> str:
    return "".join(ln.text + ln.eol for ln in lines)


def _check_value(key: str, value: str) -> None:
    if not re.fullmatch(r"[a-z0-9_]+", key):
        raise ValueError(f"invalid key {key!r}")
    if value != value.strip() or "\r" in value or "\n" in value:
        raise ValueError(f"value for {key} has line breaks or surrounding white space")


def section_values(text: str, name: str) -> dict[str, str] | None:
    """The values of one section, or None when it is absent."""
    return parse(text).get(name)


def has_line(text: str, name: str, line_text: str) -> bool:
    """Whether section `name` holds a line whose stripped text is `line_text` (our marker)."""
    lines = scan(text)
    span = _single_span(lines, name)
    if span is None:
        return False
    return any(ln.text.strip() == line_text for ln in lines[span[0] : span[1]])


def remove_line(text: str, name: str, line_text: str, prefix: bool = False) -> str:
    """Return text without the lines of section `name` whose stripped text is `line_text`
    (or, with `prefix`, starts with it)."""
    lines = scan(text)
    span = _single_span(lines, name)
    if span is None:
        return text
    start, end = span

    def hit(ln: Line) -> bool:
        stripped = ln.text.strip()
        return ln.kind == "comment" and (stripped.startswith(line_text) if prefix else stripped == line_text)

    kept = [ln for k, ln in enumerate(lines) if not (start < k < end and hit(ln))]
    if kept and lines[-1].eol == "" and kept[-1] is not lines[-1]:
        kept[-1] = Line(kept[-1].text, "", kept[-1].kind)  # the file ended without a newline: keep that
    return _join(kept)


def _key_span(section: list[Line], i: int) -> int:
    """The end of the key at section[i]: its value runs to its last continuation line, across
    blank lines and comments (as configparser reads it)."""
    j = k = i + 1
    while k < len(section) and section[k].kind in ("continuation", "blank", "comment"):
        k += 1
        if section[k - 1].kind == "continuation":
            j = k
    return j


def key_text(text: str, name: str, key: str) -> str | None:
    """The exact text of `key` in section `name`: its line and continuation lines, the line ends
    between them kept and the last one left out; None when the key is absent."""
    lines = scan(text)
    span = _single_span(lines, name)
    if span is None:
        return None
    section = lines[span[0] : span[1]]
    for i, ln in enumerate(section):
        if ln.kind == "key" and ln.key == key:
            part = section[i : _key_span(section, i)]
            return "".join(x.text + x.eol for x in part[:-1]) + part[-1].text
    return None


def is_key_text(key: str, raw: str) -> bool:
    """Whether `raw` is what key_text gives for `key`: a key line, then only its continuation."""
    lines = scan(f"[s]\n{raw}\n")[1:]
    if not lines or lines[0].kind != "key" or lines[0].key != key:
        return False
    return all(ln.kind in ("continuation", "blank", "comment") for ln in lines[1:]) and (
        len(lines) == 1 or lines[-1].kind == "continuation"
    )


def set_key_text(text: str, name: str, key: str, raw: str) -> str:
    """Return text with `key` in section `name` written as `raw` (what key_text gave), byte for
    byte; a key that is absent is added where set_section adds keys."""
    if not is_key_text(key, raw):
        raise ValueError(f"not the text of the key {key!r}")
    absent = key_text(text, name, key) is None
    if absent:
        text = set_section(text, name, {key: "x"})
    lines = scan(text)
    start, end = _single_span(lines, name)
    section = lines[start:end]
    i = next(k for k, ln in enumerate(section) if ln.kind == "key" and ln.key == key)
    j = _key_span(section, i)
    pairs = split_lines(raw)
    # Indented as the line it replaces (where set_section put it, if the key moved or was gone: a
    # deeper indent would make it continue the key before), its continuation shifted alike.
    old, new = len(raw) - len(raw.lstrip(" \t")), _indent(section[i])
    if old != len(new):
        pairs = [(new + t[old:] if t[:old].strip() == "" and t.strip() else t, e) for t, e in pairs]
    new = [Line(t, e, "raw", name) for t, e in pairs[:-1]] + [Line(pairs[-1][0], section[j - 1].eol, "raw", name)]
    return _join(lines[:start] + section[:i] + new + section[j:] + lines[end:])


def set_section(text: str, name: str, values: dict[str, str | None], marker: str = "") -> str:
    """Return text with section `name` holding `values` (None deletes a key).

    Keys already present are replaced where they stand; new ones follow the section's
    last key; other lines of the section are kept. An absent section is appended.
    `marker`, a comment line, is put right under the header if not there yet.
    """
    for key, value in values.items():
        if value is not None:
            _check_value(key, value)
    if not _SECTION.match(f"[{name}]") or _SECTION.match(f"[{name}]").group("header") != name:
        raise ValueError(f"invalid section name {name!r}")
    lines = scan(text)
    eol = detect_eol(text)
    span = _single_span(lines, name)
    if span is None:
        block = [f"[{name}]"] + ([marker] if marker else [])
        block += [f"{k} = {v}" for k, v in values.items() if v is not None]
        # After a final newline this makes one blank line before our header; after a
        # last line without one, it ends that line. remove_section undoes either.
        sep = (lines[-1].eol or eol) if text else ""  # a lone CR stays a lone CR, never CRLF
        return text + sep + "".join(b + eol for b in block)

    start, end = span
    section = lines[start:end]
    body: list[Line] = [section[0]]
    pending = dict(values)
    i = 1
    while i < len(section):
        ln = section[i]
        if ln.kind == "key" and ln.key in pending:
            j = _key_span(section, i)
            value = pending.pop(ln.key)
            if value is not None:
                # Keep the indentation: it decides what configparser takes as continuation.
                indent = ln.text[: len(ln.text) - len(ln.text.lstrip())]
                new = Line(f"{indent}{ln.key} = {value}", section[j - 1].eol, "key", name, ln.key)
                body.append(new)
            elif j == len(section) and not section[j - 1].eol and len(body) > 0:
                # The removed key ended the file without a newline: keep that shape.
                body[-1] = Line(body[-1].text, "", body[-1].kind)
            i = j
            continue
        body.append(ln)
        i += 1

    if marker and not any(ln.text.strip() == marker for ln in body):
        if not body[0].eol:  # the header ended the file without a newline: so does the marker
            body[0] = Line(body[0].text, eol, "header", name)
            body.insert(1, Line(marker, "", "comment", name))
        else:
            body.insert(1, Line(marker, eol, "comment", name))

    additions = [(k, v) for k, v in pending.items() if v]
    if additions:
        last = max(
            (k for k, ln in enumerate(body) if ln.kind in ("key", "continuation", "header")),
            default=0,
        )
        if last == 0 and marker and len(body) > 1 and body[1].text.strip() == marker:
            last = 1
        indent = _insert_indent(body, last, lines[end] if end < len(lines) else None)
        additions = [Line(f"{indent}{k} = {v}", eol, "key", name, k) for k, v in additions]
        if not body[last].eol:
            body[last] = Line(body[last].text, eol, body[last].kind, name, body[last].key)
            additions[-1].eol = ""  # the file ended without a newline: keep it so
        body[last + 1 : last + 1] = additions
    return _join(lines[:start] + body + lines[end:])


def _indent(line: Line) -> str:
    return line.text[: len(line.text) - len(line.text.lstrip())]


def _insert_indent(body: list[Line], last: int, next_header: Line | None) -> str:
    """Indentation for keys inserted after body[last].

    configparser takes a line indented deeper than the current key as its continuation,
    so a new key must be no deeper than the key before it (else it continues that key)
    and no shallower than the next significant line (else that line continues ours).
    """
    keys = [ln for ln in body[: last + 1] if ln.kind == "key"]
    if keys:
        return _indent(keys[-1])
    following = [ln for ln in body[last + 1 :] if ln.kind in ("key", "header", "bad")]
    if following:
        return _indent(following[0])
    return _indent(next_header) if next_header is not None else ""


def sections_with_line(text: str, line_text: str) -> set[str]:
    """The sections holding a line whose stripped text is `line_text`, in one pass (our marker)."""
    return {ln.section for ln in scan(text) if ln.kind != "header" and ln.section and ln.text.strip() == line_text}


def lines_starting(text: str, prefix: str) -> dict[str, str]:
    """Section -> the stripped text of its first line starting with `prefix` (one pass)."""
    found: dict[str, str] = {}
    for ln in scan(text):
        if ln.kind != "header" and ln.section and ln.text.strip().startswith(prefix):
            found.setdefault(ln.section, ln.text.strip())
    return found


def section_bodies(text: str) -> dict[str, list[Line]]:
    """Every section's lines after its header, in one pass (a section twice: both bodies)."""
    bodies: dict[str, list[Line]] = {}
    current: list[Line] | None = None
    for ln in scan(text):
        if ln.kind == "header":
            current = bodies.setdefault(ln.section, [])
        elif current is not None:
            current.append(ln)
    return bodies


def key_values(lines: list[Line]) -> dict[str, str]:
    """The first line of each key among `lines`, as key -> value (continuations left out)."""
    values: dict[str, str] = {}
    for ln in lines:
        if ln.kind == "key" and ln.key not in values:
            values[ln.key] = _OPTION.match(ln.text.strip()).group("value").strip()
    return values


def has_only_header(text: str, name: str) -> bool:
    """Whether section `name` exists and holds no key and no comment: nothing but its header."""
    lines = scan(text)
    span = _single_span(lines, name)
    if span is None:
        return False
    return all(ln.kind == "blank" for ln in lines[span[0] + 1 : span[1]])


def remove_sections(text: str, names) -> str:
    """remove_section for each of `names`, in one pass over the file (linear, not per section)."""
    lines = scan(text)
    wanted = set(names)
    spans: dict[str, list[tuple[int, int]]] = {}
    for i, ln in enumerate(lines):
        if ln.kind == "header" and ln.section in wanted:
            end = i + 1
            while end < len(lines) and lines[end].kind != "header":
                end += 1
            spans.setdefault(ln.section, []).append((i, end))
    for name, found in spans.items():
        if len(found) > 1:
            raise IniSyntaxError(f"section [{name}] appears {len(found)} times")
    deleted = [False] * len(lines)
    tail = len(lines)  # lines from here on are all deleted
    for start, end in sorted((span[0] for span in spans.values()), reverse=True):
        last = start
        for k in range(start, end):
            if lines[k].kind in ("key", "continuation", "bad") or (k == start + 1 and lines[k].kind == "comment"):
                last = k
        stop = last + 1
        for k in range(start, stop):
            deleted[k] = True
        if stop >= tail and start > 0:
            # The section ended the file: take back the separator set_section put before it.
            before = lines[start - 1]
            if before.kind == "blank" and before.text == "":
                deleted[start - 1] = True
                tail = start - 1
            else:
                lines[start - 1] = Line(before.text, "", before.kind, before.section, before.key)
                tail = start
        elif stop >= tail:
            tail = start
        else:
            # Between other sections: take back one separator. set_section puts one right before
            # each header it appends (a blank line, or the end of a last line without a newline),
            # so the section is gone with the next one's separator, and its own stands for that.
            # (Removing the one before it could join a lone CR to the next line's LF.)
            if end - 1 >= stop and lines[end - 1].kind == "blank" and lines[end - 1].text == "":
                deleted[end - 1] = True
            elif start > 0 and lines[start - 1].kind == "blank" and lines[start - 1].text == "":
                deleted[start - 1] = True
    return _join([ln for k, ln in enumerate(lines) if not deleted[k]])


def remove_section(text: str, name: str) -> str:
    """Return text without section `name`: its header and lines up to its last key.

    Comments and blank lines that trail the section stay (they often describe the
    next one). Undoes exactly what set_section appends to a file without the section.
    """
    return remove_sections(text, [name])
