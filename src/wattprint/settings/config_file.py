"""The config file's TOML: ``tomllib`` where Python has it (3.11+), else a parser of the
subset wattprint's settings use (tables, quoted strings, true/false, integers, floats).
Loaded only when a config file exists."""

from __future__ import annotations

import re
import sys

_HAVE_TOMLLIB = sys.version_info >= (3, 11)

_KEY = r"[A-Za-z0-9_-]+"
_TABLE_LINE = re.compile(rf"\[\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*\]\s*(?:#.*)?")
_PAIR_LINE = re.compile(rf"({_KEY})\s*=\s*(.*)")
_BASIC = re.compile(r'"((?:[^"\\\x00-\x1f\x7f]|\\.)*)"\s*(?:#.*)?')
_LITERAL = re.compile(r"'([^'\x00-\x08\x0a-\x1f\x7f]*)'\s*(?:#.*)?")
_BARE = re.compile(r"(true|false|[+-]?(?:0|[1-9]\d*)(?:\.\d+)?)\s*(?:#.*)?")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")


def _unescape(text: str, line_no: int) -> str:
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] in "uU" and len(esc) > 1:
            code = int(esc[1:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"invalid unicode escape at line {line_no}")
            return chr(code)
        if esc in _ESCAPES:
            return _ESCAPES[esc]
        raise ValueError(f"invalid escape \\{esc} at line {line_no}")

    return _ESCAPE.sub(one, text)


def _parse_simple(text: str) -> dict[str, object]:
    """The TOML subset wattprint's config uses; ValueError (with the line) on anything else."""
    root: dict[str, object] = {}
    table = root
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _TABLE_LINE.fullmatch(line)
        if m:
            table = root
            for part in (p.strip() for p in m.group(1).split(".")):
                nxt = table.setdefault(part, {})
                if not isinstance(nxt, dict):
                    raise ValueError(f"{part!r} is both a key and a table at line {line_no}")
                table = nxt
            continue
        m = _PAIR_LINE.fullmatch(line)
        if not m:
            raise ValueError(f'expected key = "value" at line {line_no}')
        key, rest = m.group(1), m.group(2)
        if key in table:
            raise ValueError(f"duplicate key {key!r} at line {line_no}")
        value: object
        if mb := _BASIC.fullmatch(rest):
            value = _unescape(mb.group(1), line_no)
        elif ml := _LITERAL.fullmatch(rest):
            value = ml.group(1)
        elif mv := _BARE.fullmatch(rest):
            word = mv.group(1)
            if word in ("true", "false"):
                value = word == "true"
            else:
                value = float(word) if "." in word else int(word)
        else:
            raise ValueError(
                f"unsupported value at line {line_no}: use a quoted string, true, false or a number"
            )
        table[key] = value
    return root


def parse_config(text: str, *, use_tomllib: bool | None = None) -> dict[str, object]:
    """Parse config text: tomllib where available (3.11+), else the subset parser.

    Raises ValueError with a one-line reason. ``use_tomllib=False`` forces the subset parser.
    """
    if not (_HAVE_TOMLLIB if use_tomllib is None else use_tomllib):
        return _parse_simple(text)
    import tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.11+

    try:
        parsed: dict[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None
    return parsed
