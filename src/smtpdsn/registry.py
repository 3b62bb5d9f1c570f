"""The IANA registry of SMTP enhanced status codes (RFC 3463, RFC 5248), as data.

Three tables, read once from the generated module ``_iana``:

* :data:`CLASSES`: the class digit (2, 4, 5) and its meaning.
* :data:`SUBJECTS`: the subject digit (0 to 7) and its meaning.
* :data:`ENTRIES`: every enumerated code, X.0.0 to X.7.30 (81 rows), keyed by
  ``(subject, detail)``.

Nothing here computes anything; :mod:`smtpdsn.status`, the factories, the CLI and the README
table all read their descriptions from these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from . import _iana

__all__ = [
    "CLASSES",
    "DEPRECATED",
    "ENTRIES",
    "SUBJECTS",
    "ClassInfo",
    "RegistryEntry",
    "SubCodeInfo",
    "SubjectInfo",
    "lookup",
]


@dataclass(frozen=True, slots=True)
class SubCodeInfo:
    """The meaning of a class digit (RFC 3463 section 3.1) or a subject (section 3.2)."""

    #: The digit: 2, 4 or 5 for a class, 0 to 7 for a subject.
    number: int
    #: e.g. "Permanent Failure" or "Addressing Status".
    summary: str
    description: str
    reference: str
    #: The registry's own spelling, e.g. "5.XXX.YYY" or "X.1.YYY".
    code: str


#: The meaning of a class digit.
ClassInfo = SubCodeInfo
#: The meaning of a subject digit.
SubjectInfo = SubCodeInfo


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One enumerated code of the registry, e.g. X.1.1 "Bad destination mailbox address"."""

    subject: int
    detail: int
    #: The registry's sample text ("" for the deprecated X.6.10).
    sample_text: str
    #: The associated basic reply codes as the registry writes them ("451, 550", "Not given").
    basic_codes: str
    description: str
    #: The defining documents, e.g. "[RFC3463] (Standards Track)".
    reference: str

    @property
    def code(self) -> str:
        """The code with its class left open, e.g. ``"X.1.1"``."""
        return f"X.{self.subject}.{self.detail}"

    @property
    def deprecated(self) -> bool:
        """True for codes IANA marks as deprecated (only X.6.10, a duplicate of X.6.8)."""
        return (self.subject, self.detail) in DEPRECATED

    @property
    def replacement(self) -> tuple[int, int] | None:
        """For a deprecated code, the (subject, detail) to use instead."""
        return DEPRECATED.get((self.subject, self.detail))


#: Deprecated codes and what replaces them: X.6.10 is a duplicate of X.6.8 (RFC 6531).
DEPRECATED: MappingProxyType[tuple[int, int], tuple[int, int]] = MappingProxyType({(6, 10): (6, 8)})

CLASSES: MappingProxyType[int, SubCodeInfo] = MappingProxyType(
    {row[0]: SubCodeInfo(*row, code=f"{row[0]}.XXX.YYY") for row in _iana.CLASSES}
)
SUBJECTS: MappingProxyType[int, SubCodeInfo] = MappingProxyType(
    {row[0]: SubCodeInfo(*row, code=f"X.{row[0]}.YYY") for row in _iana.SUBJECTS}
)
ENTRIES: MappingProxyType[tuple[int, int], RegistryEntry] = MappingProxyType(
    {(row[0], row[1]): RegistryEntry(*row) for row in _iana.CODES}
)


def lookup(subject: int, detail: int) -> RegistryEntry | None:
    """Return the registry entry for X.subject.detail, or None when it is not registered."""
    return ENTRIES.get((subject, detail))
