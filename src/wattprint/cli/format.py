"""Human-readable numbers with their units, and text made safe for a terminal."""

from __future__ import annotations


def energy(kwh: float) -> str:
    wh = kwh * 1000
    if wh >= 1000:
        return f"{kwh:.3g} kWh"
    if wh >= 1:
        return f"{wh:.3g} Wh"
    j = wh * 3600
    return f"{j:.0f} J" if j >= 100 else f"{j:.3g} J"


def mass(kg: float) -> str:
    if kg >= 1:
        return f"{kg:.3g} kg"
    if kg >= 1e-3:
        return f"{kg * 1e3:.3g} g"
    return f"{kg * 1e6:.3g} mg"


def duration(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{int(m)} min {s:02.0f} s"
    h, m = divmod(m, 60)
    return f"{int(h)} h {int(m):02d} min"


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value: object) -> str:
    """A stored name as it may be printed: control characters (newlines, terminal escapes)
    and lone surrogates shown as ``\\x1b``-style escapes, so a record cannot forge lines or
    drive the terminal. Validation refuses such names on the way in; records imported or
    written by older versions may still carry them."""
    s = str(value)
    return "".join(
        _escape(c) if c < " " or "\x7f" <= c <= "\x9f" or "\ud800" <= c <= "\udfff" else c
        for c in s
    )
