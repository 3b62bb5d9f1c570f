"""The one MIME reader that :mod:`smtpdsn.report` and :mod:`smtpdsn.classify` share.

:func:`parse` reads a whole message (RFC 5322 header fields, RFC 2045 Content-Type and
Content-Transfer-Encoding, RFC 2046 multipart bodies, RFC 2046 section 5.2 encapsulated
messages) into a tree of :class:`Entity` objects. It is built for hostile input:

* no recursion: an explicit work list, so 1,000 levels of nesting cost 1,000 steps, and
  parts deeper than :data:`MAX_DEPTH` are kept as opaque bodies (with a note);
* linear time: every scan is a ``bytes.find`` or a regular expression without nested
  repetition; a Content-Type value is read only up to :data:`MAX_CONTENT_TYPE` characters
  (a megabyte of parameters costs nothing); at most :data:`MAX_PARTS` entities;
* bounded memory: an entity's body is a pair of offsets into one buffer, sliced only when
  asked for, so nesting never copies the message;
* CRLF, LF and bare CR line endings are all read (everything is turned into LF first);
* it never raises on content: what it cannot read is recorded in ``defects`` and ``notes``.

Grammar used (RFC 2045 section 5.1, RFC 2046 section 5.1.1, RFC 2231 section 3)::

    content   := "Content-Type" ":" type "/" subtype *(";" parameter)
    parameter := attribute ["*" [section] ["*"]] "=" (token / quoted-string)
    dash-boundary := "--" boundary                  ; at the start of a line
    close-delimiter := dash-boundary "--"           ; transport padding may follow
"""

from __future__ import annotations

import base64
import binascii
import io
import quopri
import re
from collections.abc import Iterator
from email.generator import BytesGenerator
from email.message import Message
from email.policy import EmailPolicy
from typing import Final
from urllib.parse import unquote_to_bytes

__all__ = [
    "MAX_CONTENT_TYPE",
    "MAX_DEPTH",
    "MAX_PARTS",
    "Entity",
    "encode_text",
    "flatten_message",
    "normalize_newlines",
    "parse",
    "parse_headers",
]

#: Entities nested deeper than this are kept whole (their body is not split).
MAX_DEPTH: Final = 100
#: At most this many entities are read from one message.
MAX_PARTS: Final = 10_000
#: A Content-Type value is read up to this many characters.
MAX_CONTENT_TYPE: Final = 4096

_NAME: Final = r"[\x21-\x39\x3b-\x7e]+"
# One header field: name, optional blanks, colon, value with its continuation lines.
_FIELD: Final = rf"{_NAME}[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*"
_BLOCK_RE: Final = re.compile(rf"{_FIELD}(?:\n{_FIELD})*")
_FIELD_RE: Final = re.compile(rf"({_NAME})[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)")
_TOKEN: Final = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TYPE_RE: Final = re.compile(rf"\s*({_TOKEN})\s*/\s*({_TOKEN})")
_PARAM_RE: Final = re.compile(
    r';\s*([^\s;=]*)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"?|([^;]*)))?', re.DOTALL
)
_ESCAPE: Final = re.compile(r"\\(.)", re.DOTALL)
_SECTION: Final = re.compile(r"(.*?)\*(\d+)(\*?)")
_CTE_END: Final = re.compile(r"[\s;(]")
_NOT_B64: Final = re.compile(rb"[^A-Za-z0-9+/=]")
_OPAQUE_CTE: Final = frozenset({"7bit", "8bit", "binary"})


def normalize_newlines(data: bytes) -> bytes:
    """CRLF and bare CR line endings turned into LF."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def encode_text(text: str) -> bytes:
    """Text as UTF-8 bytes; bytes smuggled in by ``surrogateescape`` come back as they
    were, and any other lone surrogate becomes ``?``."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def flatten_message(message: Message) -> bytes | None:
    """An :class:`email.message.Message` serialised as it was parsed (no refolding), or
    None when the standard library cannot serialise it."""
    policy = message.policy
    if isinstance(policy, EmailPolicy):
        policy = policy.clone(refold_source="none", linesep="\n")
    buffer = io.BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(message)
    except Exception:  # the stdlib generator raises many kinds of error on odd messages
        return None
    return buffer.getvalue()


class Entity:
    """One MIME entity: its header fields, its content type and parameters, and its body.

    ``children`` holds the body parts of a multipart, or the one encapsulated message of
    a ``message/rfc822`` (or ``message/global``) part; it is None for a leaf, and for a
    multipart whose boundary is missing or never found (its body is then read as text).
    """

    __slots__ = (
        "_buf", "_end", "_index", "_start", "children", "content_type", "cte", "defects", "depth",
        "encapsulated", "has_content_type", "headers", "notes", "params", "parent",
        "unixfrom",
    )

    def __init__(self, headers: list[tuple[str, str]], buf: bytes = b"",
                 start: int = 0, end: int = 0) -> None:
        #: The header fields in order: (name as written, value as written, folds kept).
        #: Bytes that are not ASCII stand as ``surrogateescape`` characters.
        self.headers = headers
        self._index: dict[str, str] | None = None
        self._buf = buf
        self._start = start
        self._end = end
        self.content_type = "text/plain"
        self.has_content_type = False
        self.params: dict[str, str] = {}
        self.cte = "7bit"
        self.depth = 0
        #: True inside an encapsulated (returned) message.
        self.encapsulated = False
        #: The content type of the enclosing entity ("" for the outermost).
        self.parent = ""
        self.children: list[Entity] | None = None
        #: What was wrong with this entity's structure (names as the standard library's
        #: ``email.errors`` defects).
        self.defects: list[str] = []
        #: Limits reached while reading the message (set on the outermost entity).
        self.notes: list[str] = []
        self.unixfrom = ""

    def __repr__(self) -> str:
        return f"<Entity {self.content_type} depth={self.depth} {self._end - self._start} bytes>"

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the header field ``name`` (any case), or ``default``."""
        index = self._index
        if index is None:
            index = {}
            for key, value in self.headers:
                index.setdefault(key.lower(), value)
            self._index = index
        return index.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of the header field ``name``, in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def items(self) -> list[tuple[str, str]]:
        """The header fields, in order."""
        return list(self.headers)

    @property
    def body(self) -> bytes:
        """The body as written (LF line endings), transfer encoding not undone."""
        return self._buf[self._start : self._end]

    @property
    def body_size(self) -> int:
        """The length of :attr:`body` in bytes."""
        return self._end - self._start

    def is_multipart(self) -> bool:
        """True when the entity has children (body parts or an encapsulated message)."""
        return self.children is not None

    def decoded(self) -> tuple[bytes, bool]:
        """The body with its Content-Transfer-Encoding undone, and whether that worked."""
        body = self.body
        if self.cte == "base64":
            try:
                return base64.b64decode(_NOT_B64.sub(b"", body) + b"=="), True
            except (binascii.Error, ValueError):
                return body, False
        if self.cte == "quoted-printable":
            return quopri.decodestring(body), True
        return body, True

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, lower case, or None."""
        value = self.params.get("charset")
        return value.lower() if value is not None else None

    @property
    def filename(self) -> str | None:
        """The file name of an attachment (Content-Disposition ``filename``, else the
        Content-Type ``name`` parameter), or None."""
        disposition = self.get("content-disposition")
        if disposition is not None:
            found = _parameters(";" + disposition.partition(";")[2]).get("filename")
            if found is not None:
                return found
        return self.params.get("name")

    def text(self) -> str:
        """The decoded body as text (its charset, else UTF-8, else Latin-1); never raises."""
        payload, _ok = self.decoded()
        for name in (self.charset or "us-ascii", "utf-8"):
            try:
                return payload.decode(name)
            except (LookupError, UnicodeError, ValueError, TypeError):
                continue
        return payload.decode("latin-1")

    def walk(self) -> Iterator[Entity]:
        """This entity and every entity below it, outermost first, in order (no
        recursion)."""
        stack: list[Entity] = [self]
        while stack:
            entity = stack.pop()
            yield entity
            if entity.children:
                stack.extend(reversed(entity.children))


def _decode_2231(value: str) -> str:
    """An RFC 2231 extended value ``charset'language'%XX...`` as text."""
    charset, sep, rest = value.partition("'")
    if not sep:
        charset, rest = "us-ascii", value
    else:
        rest = rest.partition("'")[2]
    raw = unquote_to_bytes(rest)
    for name in (charset or "us-ascii", "utf-8"):
        try:
            return raw.decode(name)
        except (LookupError, UnicodeError, ValueError, TypeError):
            continue
    return raw.decode("latin-1")


def _parameters(text: str) -> dict[str, str]:
    """The parameters of ``;name=value`` pieces (names lower case, the first of each
    kept, RFC 2231 sections joined and extended values decoded); one linear scan."""
    params: dict[str, str] = {}
    sections: dict[str, list[tuple[int, str, bool]]] = {}
    for m in _PARAM_RE.finditer(text):
        name = m[1].lower()
        if not name:
            continue
        quoted = m[2]
        if quoted is not None:
            value = _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
        else:
            value = (m[3] or "").strip()
        if "*" in name:
            sec = _SECTION.fullmatch(name)
            if sec is not None:
                sections.setdefault(sec[1], []).append((int(sec[2]), value, bool(sec[3])))
                continue
            if name.endswith("*"):
                name = name[:-1]
                if name not in params:
                    params[name] = _decode_2231(value)
                continue
        params.setdefault(name, value)
    for name, pieces in sections.items():
        if name in params or len(pieces) > 100:
            continue
        pieces.sort(key=lambda piece: piece[0])
        if pieces[0][2]:
            params[name] = _decode_2231("".join(v for _, v, _ in pieces))
        else:
            params[name] = "".join(v for _, v, _ in pieces)
    return params


def _read_headers(buf: bytes, start: int, end: int) -> tuple[list[tuple[str, str]], int,
                                                              str, list[str]]:
    """The header fields of the entity at ``buf[start:end]``, where its body starts, the
    mbox ``From `` line if any, and the defects met."""
    defects: list[str] = []
    if buf[start : start + 1] == b"\n":
        return [], start + 1, "", defects
    stop = buf.find(b"\n\n", start, end)
    body_start = end if stop < 0 else stop + 2
    section = buf[start : end if stop < 0 else stop].decode("ascii", "surrogateescape")
    if section.endswith("\n"):  # an entity that ends in its header section
        section = section[:-1]
    unixfrom = ""
    offset = 0
    if section.startswith("From "):
        line_end = section.find("\n")
        unixfrom = section if line_end < 0 else section[:line_end]
        offset = len(section) if line_end < 0 else line_end + 1
        section = section[offset:]
    if not section or _BLOCK_RE.fullmatch(section) is not None:
        fields = _FIELD_RE.findall(section)
        return fields, body_start, unixfrom, defects
    fields = []
    pos = 0
    while pos < len(section):
        m = _FIELD_RE.match(section, pos)
        if m is None:
            if pos == 0 and section[:1] in (" ", "\t"):
                defects.append("FirstHeaderLineIsContinuationDefect")
                line_end = section.find("\n")
                if line_end < 0:
                    return fields, body_start, unixfrom, defects
                pos = line_end + 1
                continue
            defects.append("MissingHeaderBodySeparatorDefect")
            return fields, start + offset + pos, unixfrom, defects
        fields.append((m[1], m[2]))
        pos = m.end() + 1
    return fields, body_start, unixfrom, defects


def _entity(buf: bytes, start: int, end: int, default: str) -> Entity:
    headers, body_start, unixfrom, defects = _read_headers(buf, start, end)
    entity = Entity(headers, buf, min(body_start, end), end)
    entity.unixfrom = unixfrom
    entity.defects = defects
    ctype: str | None = None
    cte: str | None = None
    for name, value in headers:
        size = len(name)  # only names of the right length are lowered and compared
        if size == 12 and ctype is None and name.lower() == "content-type":
            ctype = value
        elif size == 25 and cte is None and name.lower() == "content-transfer-encoding":
            cte = value
    if ctype is None:
        entity.content_type = default
    else:
        entity.has_content_type = True
        value = ctype[:MAX_CONTENT_TYPE]
        m = _TYPE_RE.match(value)
        if m is None:
            entity.content_type = "text/plain"
            defects.append("InvalidHeaderDefect")
        else:
            entity.content_type = f"{m[1]}/{m[2]}".lower()
            if ";" in value:
                entity.params = _parameters(value[m.end() :])
    if cte is not None:
        cte = cte.strip()
        cut = _CTE_END.search(cte)
        entity.cte = (cte if cut is None else cte[: cut.start()]).lower() or "7bit"
    return entity


def _split(buf: bytes, start: int, end: int, boundary: str,
           limit: int) -> tuple[list[tuple[int, int]], bool]:
    """The (start, end) spans of the body parts between ``start`` and ``end`` (preamble
    and epilogue dropped, at most ``limit``), and whether the close delimiter was seen."""
    needle = b"--" + boundary.encode("ascii", "surrogateescape")
    spans: list[tuple[int, int]] = []
    part_start: int | None = None
    pos = start
    while len(spans) < limit:
        at = buf.find(needle, pos, end)
        if at < 0:
            break
        pos = at + len(needle)
        if at > start and buf[at - 1] != 0x0A:
            continue  # not at the start of a line
        eol = buf.find(b"\n", pos, end)
        line_end = end if eol < 0 else eol
        close = buf.startswith(b"--", pos, line_end)
        if buf[pos + 2 if close else pos : line_end].strip(b" \t"):
            continue  # "--boundary" followed by other text: not a delimiter
        if part_start is not None:
            spans.append((part_start, max(part_start, at - 1 if at > start else at)))
        if close:
            return spans, True
        part_start = end if eol < 0 else eol + 1
        pos = line_end
    if part_start is not None and len(spans) < limit:
        stop = end - 1 if end > part_start and buf[end - 1] == 0x0A else end
        spans.append((part_start, stop))
    return spans, False


# (buffer, start, end, depth, encapsulated, default type, parent entity)
_Work = tuple[bytes, int, int, int, bool, str, "Entity | None"]


def parse(data: bytes | bytearray | memoryview) -> Entity:
    """The entity tree of a whole message (never raises on content).

    >>> root = parse(b"Content-Type: multipart/mixed; boundary=b\\r\\n\\r\\n--b\\r\\n"
    ...              b"Content-Type: text/plain\\r\\n\\r\\nhello\\r\\n--b--\\r\\n")
    >>> [(e.content_type, e.body) for e in root.walk()]
    [('multipart/mixed', b'--b\\nContent-Type: text/plain\\n\\nhello\\n--b--\\n'), \
('text/plain', b'hello')]
    """
    buf = normalize_newlines(bytes(data))
    work: list[_Work] = [(buf, 0, len(buf), 0, False, "text/plain", None)]
    root: Entity | None = None
    count = 0
    notes: list[str] = []
    while work:
        chunk, start, end, depth, encapsulated, default, parent = work.pop()
        count += 1
        if count > MAX_PARTS:
            notes.append(f"the message has more than {MAX_PARTS} MIME parts; the rest were skipped")
            break
        entity = _entity(chunk, start, end, default)
        entity.depth = depth
        entity.encapsulated = encapsulated
        if parent is None:
            root = entity
        else:
            entity.parent = parent.content_type
            assert parent.children is not None
            parent.children.append(entity)
        ctype = entity.content_type
        if ctype.startswith("multipart/"):
            boundary = entity.params.get("boundary", "").rstrip()
            if not boundary:
                entity.defects.append("NoBoundaryInMultipartDefect")
                continue
            if depth + 1 > MAX_DEPTH:
                notes.append(f"MIME parts nested deeper than {MAX_DEPTH} levels were not examined")
                continue
            spans, closed = _split(chunk, entity._start, end, boundary, MAX_PARTS - count + 1)
            if not spans:
                entity.defects += ["StartBoundaryNotFoundDefect",
                                   "MultipartInvariantViolationDefect"]
                continue
            if not closed:
                entity.defects.append("CloseBoundaryNotFoundDefect")
            entity.children = []
            child_default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
            for s, e in reversed(spans):
                work.append((chunk, s, e, depth + 1, encapsulated, child_default, entity))
        elif ctype in ("message/rfc822", "message/global"):
            if depth + 1 > MAX_DEPTH:
                notes.append(f"MIME parts nested deeper than {MAX_DEPTH} levels were not examined")
                continue
            entity.children = []
            if entity.cte in ("base64", "quoted-printable"):
                inner = normalize_newlines(entity.decoded()[0])
                work.append((inner, 0, len(inner), depth + 1, True, "text/plain", entity))
            else:
                work.append((chunk, entity._start, end, depth + 1, True, "text/plain", entity))
    assert root is not None
    root.notes = list(dict.fromkeys(notes))
    return root


def parse_headers(text: str | bytes) -> Entity:
    """An entity of a header block alone (a returned message's headers, a text/rfc822-headers
    part): its fields up to the first blank line; never raises."""
    data = normalize_newlines(text if isinstance(text, bytes) else encode_text(text))
    stop = data.find(b"\n\n")
    head = data if stop < 0 else data[: stop + 1]
    return _entity(head, 0, len(head), "text/plain")
