"""A small, bounded MIME walker that finds delivery-status parts in raw message bytes.

Python's :mod:`email` parser recurses once per level of nesting (a 1,000-deep message
raises RecursionError) and reads ``message/global-delivery-status`` as an embedded
message. This walker reads only what a report reader needs (Content-Type with its
``boundary``, Content-Transfer-Encoding, multipart bodies, encapsulated messages) with an
explicit stack and fixed limits.

Grammar used (RFC 2045 section 5.1, RFC 2046 section 5.1.1)::

    content     := "Content-Type" ":" type "/" subtype *(";" parameter)
    parameter   := attribute "=" value
    value       := token / quoted-string
    dash-boundary := "--" boundary                 ; at the start of a line
    close-delimiter := dash-boundary "--"

Line endings CRLF, LF and CR are all accepted.
"""

from __future__ import annotations

import base64
import binascii
import io
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message
from email.policy import EmailPolicy
from typing import Final

__all__ = ["MAX_DEPTH", "MAX_PARTS", "Part", "flatten_message", "normalize_newlines", "walk"]

#: Parts nested deeper than this are not examined.
MAX_DEPTH: Final = 100
#: At most this many MIME entities are examined in one message.
MAX_PARTS: Final = 10_000
# A Content-Transfer-Encoding value is one token; drop a comment or anything after it.
_CTE_TOKEN: Final = re.compile(r"[\s;(].*", re.DOTALL)
# A Content-Type longer than this is cut before its parameters are read.
_MAX_CONTENT_TYPE: Final = 4096
# field-name = 1*<any CHAR, excluding CTLs, SPACE, and ":">
_HEADER: Final = re.compile(rb"([!-9;-~]+)[ \t]*:")
# A line break not followed by SP or HTAB: where the next unfolded header line starts.
_LOGICAL: Final = re.compile(rb"\n(?![ \t])")
_TYPE: Final = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)")
_PARAM: Final = re.compile(
    r'\s*;\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', re.DOTALL
)


@dataclass(frozen=True, slots=True)
class Part:
    """One MIME entity found by :func:`walk`."""

    content_type: str
    params: dict[str, str]
    body: bytes
    cte: str
    depth: int
    #: True when the part is inside a message/rfc822 (or message/global) part.
    encapsulated: bool
    #: The content type of the enclosing entity ("" for the outermost).
    parent: str

    def decoded(self) -> tuple[bytes, bool]:
        """The body with its Content-Transfer-Encoding undone, and whether that worked."""
        if self.cte == "base64":
            try:
                return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", self.body) + b"=="), True
            except (binascii.Error, ValueError):
                return self.body, False
        if self.cte == "quoted-printable":
            return quopri.decodestring(self.body), True
        return self.body, True


def normalize_newlines(data: bytes) -> bytes:
    """Turn CRLF and bare CR line endings into LF."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def flatten_message(message: Message) -> bytes | None:
    """Serialise a Message as it was parsed (no refolding), or None when the standard
    library cannot serialise it."""
    policy = message.policy
    if isinstance(policy, EmailPolicy):
        policy = policy.clone(refold_source="none", linesep="\n")
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(message)
    except Exception:  # the stdlib generator raises many kinds of error on odd messages
        return None
    return buffer.getvalue()


def _split_entity(data: bytes) -> tuple[dict[str, str], bytes]:
    """Read the header section of an entity (LF line endings) into the two headers we use.

    Loops once per unfolded header field, so a huge folded header costs one iteration.
    """
    headers: dict[str, bytes] = {}
    end = data.find(b"\n\n")
    section = data if end < 0 else data[:end]
    body_start = len(data) if end < 0 else end + 2
    if data[:1] == b"\n":
        return {}, data[1:]
    pos = 0
    for number, logical in enumerate(_LOGICAL.split(section)):
        m = _HEADER.match(logical)
        if m is None:
            if number == 0 and logical.startswith(b"From "):  # mbox separator line
                pos += len(logical) + 1
                continue
            body_start = pos  # not a header: the body starts here (no blank line)
            break
        name = m[1].lower().decode("ascii")
        if name in ("content-type", "content-transfer-encoding") and name not in headers:
            headers[name] = logical[m.end() : m.end() + _MAX_CONTENT_TYPE]
        pos += len(logical) + 1
    values = {
        key: value.replace(b"\n", b"").decode("ascii", "replace").strip()
        for key, value in headers.items()
    }
    return values, data[body_start:]


def _content_type(value: str | None) -> tuple[str, dict[str, str]]:
    if not value:
        return "text/plain", {}
    m = _TYPE.match(value)
    if m is None:
        return "text/plain", {}
    params: dict[str, str] = {}
    pos = m.end()
    for pm in _PARAM.finditer(value, pos):
        raw = pm[2] if pm[2] is not None else pm[3]
        params.setdefault(pm[1].lower(), re.sub(r"\\(.)", r"\1", raw))
    return f"{m[1]}/{m[2]}".lower(), params


def _delimiters(body: bytes, boundary: bytes) -> Iterator[tuple[int, int, bool]]:
    """Yield (start, end, is_close) for each delimiter line ``--boundary[--]`` in ``body``.

    ``end`` is just past the line's LF (or the end of the body). A delimiter must start a
    line; white space may follow it (RFC 2046 transport padding). Uses ``bytes.find``, so
    each nesting level costs one fast scan of its body.
    """
    needle = b"--" + boundary
    pos = 0
    while True:
        i = body.find(needle, pos)
        if i < 0:
            return
        pos = i + len(needle)
        if i > 0 and body[i - 1] != 0x0A:
            continue
        eol = body.find(b"\n", pos)
        if eol < 0:
            eol = len(body)
        rest = body[pos:eol]
        close = rest.startswith(b"--")
        if (rest[2:] if close else rest).strip(b" \t"):
            continue  # "--boundary" followed by other text: not a delimiter
        yield i, min(eol + 1, len(body)), close
        pos = eol


def _split_multipart(body: bytes, boundary: str, limit: int = MAX_PARTS) -> list[bytes]:
    """The body parts of a multipart body (LF line endings), preamble and epilogue dropped;
    at most ``limit + 1`` of them."""
    parts: list[bytes] = []
    start: int | None = None
    for begin, end, close in _delimiters(body, boundary.encode("ascii", "replace")):
        if len(parts) > limit:
            return parts
        if start is not None:
            stop = begin - 1 if begin > 0 and body[begin - 1] == 0x0A else begin
            parts.append(body[start : max(start, stop)])
        if close:
            return parts
        start = end
    if start is not None and start <= len(body):
        parts.append(body[start:])
    return parts


def walk(data: bytes, notes: list[str]) -> Iterator[Part]:
    """Yield every MIME entity of a message (LF line endings), outermost first.

    Limits: entities deeper than :data:`MAX_DEPTH` and entities after the first
    :data:`MAX_PARTS` are skipped, with a note appended to ``notes``.
    """
    stack: list[tuple[bytes, int, bool, str, str]] = [(data, 0, False, "text/plain", "")]
    count = 0
    while stack:
        raw, depth, encapsulated, default, parent = stack.pop()
        count += 1
        if count > MAX_PARTS:
            notes.append(f"the message has more than {MAX_PARTS} MIME parts; the rest were skipped")
            return
        headers, body = _split_entity(raw)
        ctype, params = _content_type(headers.get("content-type"))
        if "content-type" not in headers:
            ctype = default
        cte = _CTE_TOKEN.sub("", headers.get("content-transfer-encoding", "7bit")).lower()
        part = Part(ctype, params, body, cte, depth, encapsulated, parent)
        yield part
        children: list[tuple[bytes, int, bool, str, str]] = []
        if ctype.startswith("multipart/") and params.get("boundary"):
            child_default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
            for child in _split_multipart(body, params["boundary"]):
                children.append((child, depth + 1, encapsulated, child_default, ctype))
        elif ctype in ("message/rfc822", "message/global"):
            inner, _ok = part.decoded()
            children.append((normalize_newlines(inner), depth + 1, True, "text/plain", ctype))
        if children and depth + 1 > MAX_DEPTH:
            notes.append(f"MIME parts nested deeper than {MAX_DEPTH} levels were not examined")
            continue
        stack.extend(reversed(children))
