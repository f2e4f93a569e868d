"""What the tool wrote into a section of an AWS file, recorded in the section, and taking it back.

Pure functions over text. Each writer is a layer with one comment line right under the header:

    # terraform-session-token configured: credential_process region was: {"region":"region=eu-west-1"}
    # terraform-session-token remembered (new section): mfa_serial session_source_profile

`configured` is what `configure` was told; `remembered` what a run discovered (the MFA device,
a role's ARN, the source profile); `session` a classic session written into a credentials-file
section of the user's. A line lists the keys the layer owns and, after `was:`, the exact text
(as inifile.key_text gives it) of the lines each one replaced; `(new section)` says the layer
made the section, which goes when nothing else is left in it. Taking a layer back gives every
byte back: `configure --remove` takes back `configured`, `clear` takes back `remembered` and
`session`, and after both the file is what it was before the tool.

When both layers list a key, `remembered` is on top (a run replaced a role name given to
configure by its ARN): its `was` holds configure's line. A value `configure` is told replaces a
remembered one outright (taking over what that one had replaced).

2.0.0 wrote one line for configure and runs alike, `# terraform-session-token wrote: KEYS
replaced: {"key": "value"}`: read as `configured` when it lists credential_process (configure
always writes that), else as `remembered`; in the credentials file as `session`.
"""

from __future__ import annotations

import json
import re

from . import inifile

CONFIGURED, REMEMBERED, SESSION = "configured", "remembered", "session"
LAYERS = (CONFIGURED, REMEMBERED, SESSION)
HEAD = "# terraform-session-token"
OLD = f"{HEAD} wrote:"  # 2.0.0
NEW_SECTION = " (new section)"
_LINE = re.compile(
    rf"{HEAD} (?P<layer>{'|'.join(LAYERS)})(?P<new>{re.escape(NEW_SECTION)})?:(?P<keys>[a-z0-9_ ]*?)"
    r"(?: was: (?P<was>\{.*\}))?"
)
_OLD = re.compile(rf"{re.escape(OLD)}(?P<keys>[a-z0-9_ ]*?)(?: replaced: (?P<was>\{{.*\}}))?")
_KEY = re.compile(r"[a-z0-9_]+")


class Layer:
    """What one writer owns in a section: its keys (in order), the text each replaced, whether it made the section."""

    __slots__ = ("name", "keys", "was", "new")

    def __init__(self, name: str, keys=(), was=None, new: bool = False):
        self.name = name
        self.keys: list[str] = list(dict.fromkeys(keys))
        self.was: dict[str, str] = dict(was or {})
        self.new = new

    def line(self) -> str:
        text = f"{HEAD} {self.name}{NEW_SECTION if self.new else ''}: {' '.join(self.keys)}"
        if self.was:
            text += " was: " + json.dumps(self.was, separators=(",", ":"))
        return text

    def drop(self, key: str) -> None:
        if key in self.keys:
            self.keys.remove(key)
        self.was.pop(key, None)


def _json_texts(raw: str | None) -> dict[str, str]:
    """A `was` map from a file: anything but string -> string is ignored (a hand-edited line)."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and _KEY.fullmatch(k)}


def parse_line(text: str, credentials: bool = False) -> Layer | None:
    """The layer a marker line records (None: not one of ours)."""
    text = text.strip()
    m = _LINE.fullmatch(text)
    if m:
        keys = m.group("keys").split()
        was = {k: v for k, v in _json_texts(m.group("was")).items() if k in keys and inifile.is_key_text(k, v)}
        return Layer(m.group("layer"), keys, was, bool(m.group("new")))
    m = _OLD.fullmatch(text)
    if m is None:
        return None
    # 2.0.0 listed the keys it added, and kept apart the values it replaced.
    keys = m.group("keys").split()
    was = {}
    for key, value in _json_texts(m.group("was")).items():
        try:
            inifile._check_value(key, value)
        except ValueError:
            continue
        was[key] = f"{key} = {value}"
        keys.append(key)
    if credentials:
        return Layer(SESSION, keys, was)
    # 2.0.0 removed a section it had emptied: it had made it.
    return Layer(CONFIGURED if "credential_process" in keys else REMEMBERED, keys, was, new=True)


def _is_mark(line: inifile.Line) -> bool:
    return line.kind == "comment" and line.text.strip().startswith(HEAD + " ")


def _merged(lines, credentials: bool) -> dict[str, Layer]:
    found: dict[str, Layer] = {}
    for ln in lines:
        layer = parse_line(ln.text, credentials)
        if layer is None:
            continue
        first = found.setdefault(layer.name, layer)
        if first is not layer:  # two lines of one layer (edited by hand): one, with the keys of both
            for key in layer.keys:
                if key not in first.keys:
                    first.keys.append(key)
                    if key in layer.was:
                        first.was[key] = layer.was[key]
            first.new = first.new or layer.new
    return found


def read(text: str, section: str, credentials: bool = False) -> dict[str, Layer]:
    """The layers recorded in `section` (none when it is absent or has no marker line)."""
    return _merged([ln for ln in inifile.section_bodies(text).get(section, []) if _is_mark(ln)], credentials)


def sections(text: str, credentials: bool = False) -> dict[str, dict[str, Layer]]:
    """Every section with a marker line, and its layers (one pass over the file)."""
    marks: dict[str, list[inifile.Line]] = {}
    for ln in inifile.scan(text):
        if ln.section and ln.kind == "comment" and _is_mark(ln):
            marks.setdefault(ln.section, []).append(ln)
    found = {name: _merged(lines, credentials) for name, lines in marks.items()}
    return {name: layers for name, layers in found.items() if layers}


def _without_marks(text: str, section: str) -> str:
    """The text without the marker lines of `section` (ours: one of the layers, or 2.0.0's)."""
    ours = {
        ln.text.strip()
        for ln in inifile.section_bodies(text).get(section, [])
        if _is_mark(ln) and parse_line(ln.text) is not None
    }
    for line in ours:
        text = inifile.remove_line(text, section, line)
    return text


def _with_marks(text: str, section: str, layers: dict[str, Layer]) -> str:
    """`layers`' lines put right under the header of `section`, in LAYERS order."""
    kept = [layers[name] for name in LAYERS if name in layers and layers[name].keys]
    for layer in reversed(kept):
        text = inifile.set_section(text, section, {}, marker=layer.line())
    return text


def _settle(layers: dict[str, Layer]) -> dict[str, Layer]:
    """A layer that owns no key any more goes; the section it made passes to the one left."""
    for name in list(layers):
        layer = layers[name]
        if layer.keys:
            continue
        del layers[name]
        if layer.new:
            for other in layers.values():
                other.new = True
    return layers


def write(text: str, section: str, layer_name: str, values: dict[str, str | None], credentials: bool = False) -> str:
    """Set `values` in `section` (None deletes a key) as `layer_name`, recording what they replaced.

    The section is created when absent (the layer then made it). Values equal to what is
    there already are left alone, unless the layer owns them.
    """
    layers = read(text, section, credentials)
    current = inifile.section_values(text, section)
    section_existed = current is not None
    layer = layers.setdefault(layer_name, Layer(layer_name, new=not section_existed))
    other = layers.get(REMEMBERED if layer_name == CONFIGURED else CONFIGURED) if layer_name != SESSION else None
    current = current or {}
    changes: dict[str, str | None] = {}
    for key, value in values.items():
        owned = key in layer.keys
        others = other is not None and key in other.keys
        if not owned and not others and (current.get(key) == value or (value is None and key not in current)):
            continue  # the user's value already, or nothing to delete: not ours to record
        if owned:
            if layer_name == CONFIGURED and others:
                other.drop(key)  # told a value: the remembered one on top of configure's goes
        elif others and layer_name == CONFIGURED:
            if key in other.was:  # configure takes over what the remembered value had replaced
                layer.was[key] = other.was[key]
            other.drop(key)
        else:
            raw = inifile.key_text(text, section, key)
            if raw is not None:  # the user's line, or (remembered on top of configured) configure's
                layer.was[key] = raw
        if value is None and key not in layer.was:
            layer.drop(key)  # deleting what the tool itself added: nothing left to record
        elif key not in layer.keys:
            layer.keys.append(key)
        changes[key] = value
    if not section_existed and not any(v is not None for v in changes.values()):
        return text  # nothing to write into a section that is not there
    made = any(layer.new for layer in layers.values())
    layers = _settle(layers)
    text = _with_marks(inifile.set_section(_without_marks(text, section), section, changes), section, layers)
    if made and not layers and inifile.has_only_header(text, section):
        text = inifile.remove_sections(text, [section])  # it made the section, and took all it wrote out again
    return text


def take_back(text: str, section: str, layer_name: str, credentials: bool = False) -> tuple[str, list[str]]:
    """`text` with what `layer_name` wrote into `section` taken back, byte for byte; and the keys
    it held that are taken back (those whose value it had set)."""
    layers = read(text, section, credentials)
    layer = layers.pop(layer_name, None)
    if layer is None:
        return text, []
    other = layers.get(REMEMBERED) if layer_name == CONFIGURED else None
    present = inifile.section_values(text, section) or {}
    restore: dict[str, str | None] = {}
    for key in layer.keys:
        if other is not None and key in other.keys:
            # The remembered value is on top: it now stands on what configure had replaced.
            if key in layer.was:
                other.was[key] = layer.was[key]
            else:
                other.was.pop(key, None)
            continue
        restore[key] = layer.was.get(key)
    if layer.new:
        for rest in layers.values():
            rest.new = True
    layers = _settle(layers)
    text = _without_marks(text, section)
    gone = [k for k, raw in restore.items() if raw is None]
    if gone:  # first: a key put back must not land under one about to go
        text = inifile.set_section(text, section, dict.fromkeys(gone))
    for key, raw in restore.items():
        if raw is not None:
            text = inifile.set_key_text(text, section, key, raw)
    text = _with_marks(text, section, layers)
    if layer.new and not layers and inifile.has_only_header(text, section):
        text = inifile.remove_sections(text, [section])
    return text, [k for k in restore if k in present]
