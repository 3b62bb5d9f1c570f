"""The xtext encoding of the SMTP DSN extension (RFC 3461 section 4), and the utf-8
address forms of RFC 6533 section 3.

RFC 3461::

    xtext   = *( xchar / hexchar )
    xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
              except for "+" and "="
    hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits

RFC 6533 (``utf-8`` address type)::

    utf-8-addr-xtext   = 1*(QCHAR / EmbeddedUnicodeChar)
    utf-8-addr-unitext = 1*(QUCHAR / EmbeddedUnicodeChar)
    QCHAR              = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e
    EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}"     ; \\x{HEX}, no leading zeros

ENVID and ORCPT values arrive xtext-encoded; :func:`decode_xtext` gives the text and
:func:`encode_xtext` the form to send.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import XtextError

__all__ = [
    "decode_utf8_addr",
    "decode_xtext",
    "encode_utf8_addr_xtext",
    "encode_xtext",
]

_HEXCHAR: Final = re.compile(r"\+([0-9A-Fa-f]{2})")
_XTEXT_LENIENT: Final = re.compile(r"(?:[!-*,-<>-~]|\+[0-9A-Fa-f]{2})*")
_SAFE: Final = frozenset(chr(c) for c in range(33, 127)) - {"+", "="}
_QCHAR_SAFE: Final = _SAFE - {"\\"}
_EMBEDDED: Final = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


def encode_xtext(value: str | bytes) -> str:
    """Encode text (as UTF-8) or bytes as xtext; ``+``, ``=``, SP, controls and non-ASCII
    octets become ``+XX`` with upper-case hex.

    >>> encode_xtext("a b+c=d")
    'a+20b+2Bc+3Dd'
    """
    if isinstance(value, str):
        if all(ch in _SAFE for ch in value):
            return value
        value = value.encode("utf-8")
    elif not isinstance(value, bytes | bytearray):
        raise XtextError(f"xtext encodes str or bytes, got {value!r}")
    return "".join(chr(b) if chr(b) in _SAFE else f"+{b:02X}" for b in bytes(value))


def decode_xtext(value: str, *, strict: bool = True) -> str:
    """Decode xtext to text (UTF-8).

    Lower-case hex digits are accepted, as RFC 3461 advises decoders to be lenient.

    Raises:
        XtextError: with ``strict`` (the default), a character outside ``!``..``~``, an
            ``=``, a ``+`` not followed by two hex digits, or octets that are not UTF-8.
            Without ``strict``, such characters are kept as they are.
    """
    if not isinstance(value, str):
        raise XtextError(f"xtext must be a string, got {value!r}")
    if "+" not in value and all(ch in _SAFE for ch in value):
        return value
    if strict and _XTEXT_LENIENT.fullmatch(value) is None:
        for i, ch in enumerate(value):
            if ch == "+" and _HEXCHAR.match(value, i):
                continue
            if ch not in _SAFE or ch == "+":
                raise XtextError(
                    f"invalid xtext {value!r}: {ch!r} at position {i} must be written as "
                    "+XX (RFC 3461 section 4)"
                )
    raw = bytearray()
    i = 0
    while i < len(value):
        m = _HEXCHAR.match(value, i)
        if m is not None:
            raw.append(int(m[1], 16))
            i = m.end()
        else:
            raw.extend(value[i].encode("utf-8"))
            i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if strict:
            raise XtextError(f"xtext {value!r} does not decode to UTF-8 text") from None
        return raw.decode("utf-8", "replace")


def encode_utf8_addr_xtext(address: str) -> str:
    """Encode an address in RFC 6533 utf-8-addr-xtext form (7-bit, safe in ORCPT).

    Printable ASCII other than ``\\``, ``+`` and ``=`` is kept; everything else is written
    ``\\x{HEX}``.

    >>> encode_utf8_addr_xtext("jöran@example.com")
    'j\\\\x{F6}ran@example.com'
    """
    return "".join(ch if ch in _QCHAR_SAFE else f"\\x{{{ord(ch):X}}}" for ch in address)


def decode_utf8_addr(value: str, *, strict: bool = True) -> str:
    """Decode an RFC 6533 utf-8-addr-xtext or utf-8-addr-unitext value to the address.

    Raises:
        XtextError: with ``strict``, a ``\\`` that does not start a ``\\x{HEX}`` escape,
            an escape with leading zeros or of a surrogate or out-of-range code point,
            or a control character, space, ``+`` or ``=`` written bare.
    """
    if not isinstance(value, str):
        raise XtextError(f"a utf-8 address must be a string, got {value!r}")
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            m = _EMBEDDED.match(value, i)
            if m is None:
                if strict:
                    raise XtextError(
                        f"invalid utf-8 address {value!r}: '\\' at position {i} must start "
                        "an escape such as \\x{2B} (RFC 6533)"
                    )
                out.append(ch)
                i += 1
                continue
            hexpoint = m[1]
            point = int(hexpoint, 16)
            if strict and (
                (len(hexpoint) > 1 and hexpoint[0] == "0")
                or point > 0x10FFFF
                or 0xD800 <= point <= 0xDFFF
            ):
                raise XtextError(
                    f"invalid utf-8 address {value!r}: \\x{{{hexpoint}}} is not a valid "
                    "escaped code point (RFC 6533 HEXPOINT)"
                )
            out.append(
                chr(point) if point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF else "\ufffd"
            )
            i = m.end()
            continue
        if strict and (ch in "+=" or ord(ch) <= 0x20 or ord(ch) == 0x7F or 0x80 <= ord(ch) <= 0x9F):
            raise XtextError(
                f"invalid utf-8 address {value!r}: {ch!r} at position {i} must be escaped "
                "as \\x{HEX} (RFC 6533)"
            )
        out.append(ch)
        i += 1
    return "".join(out)
