"""The enhanced status code value, RFC 3463 section 2.

Grammar (RFC 3463 section 2)::

    status-code = class "." subject "." detail
    class       = "2" / "4" / "5"
    subject     = 1*3digit
    detail      = 1*3digit

"Each numeric sub-code within the status-code MUST be expressed without leading zero
digits", and no white space or comments are allowed inside the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .errors import StatusSyntaxError
from .registry import CLASSES, DEPRECATED, ENTRIES, SUBJECTS, ClassInfo, RegistryEntry, SubjectInfo

__all__ = ["STATUS_PATTERN", "EnhancedStatus"]

_NUM = r"(?:0|[1-9][0-9]{0,2})"
#: The RFC 3463 ``status-code`` as a regular expression source (no anchors).
STATUS_PATTERN: Final = rf"[245]\.{_NUM}\.{_NUM}"
_STATUS_RE: Final = re.compile(rf"([245])\.({_NUM})\.({_NUM})")
_CLASS_WORDS: Final = {2: "success", 4: "transient failure", 5: "permanent failure"}

# Parsed values, by their text. Bounded so hostile input cannot grow it without limit.
_CACHE: dict[str, EnhancedStatus] = {}
_CACHE_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True, order=True)
class EnhancedStatus:
    """An RFC 3463 enhanced status code such as ``5.1.1``.

    Values are immutable, hashable and ordered by (class, subject, detail).
    ``str(status)`` is the code as it goes on the wire.

    >>> s = EnhancedStatus.parse("5.1.1")
    >>> s.is_permanent, s.entry.sample_text if s.entry else None
    (True, 'Bad destination mailbox address')
    """

    #: The class digit: 2 (success), 4 (transient failure) or 5 (permanent failure).
    class_: int
    #: The subject sub-code, 0 to 999 (0 to 7 are defined).
    subject: int
    #: The detail sub-code, 0 to 999.
    detail: int

    def __post_init__(self) -> None:
        for name in ("class_", "subject", "detail"):
            value = getattr(self, name)
            if type(value) is not int:
                raise StatusSyntaxError(
                    f"enhanced status {name.rstrip('_')} must be an integer, got {value!r}"
                )
        if self.class_ not in (2, 4, 5):
            raise StatusSyntaxError(f"enhanced status class must be 2, 4 or 5, got {self.class_!r}")
        if not (0 <= self.subject <= 999 and 0 <= self.detail <= 999):
            raise StatusSyntaxError(
                f"enhanced status sub-codes must be 0 to 999, got "
                f"{self.class_}.{self.subject}.{self.detail}"
            )

    @classmethod
    def parse(cls, text: str) -> EnhancedStatus:
        """Parse ``"5.1.1"`` strictly by RFC 3463.

        Raises:
            StatusSyntaxError: ``text`` is not exactly one enhanced status code (leading
                zeros, white space, a class other than 2/4/5 and sub-codes over three digits
                are all refused). Nothing is cached for a refused value.
        """
        try:
            return _CACHE[text]
        except (KeyError, TypeError):
            pass
        if not isinstance(text, str):
            raise StatusSyntaxError(f"an enhanced status code must be a string, got {text!r}")
        m = _STATUS_RE.fullmatch(text)
        if m is None:
            raise StatusSyntaxError(
                f"{text!r} is not an enhanced status code; expected class.subject.detail "
                "such as 5.1.1 (class 2, 4 or 5; sub-codes 0-999 without leading zeros)"
            )
        value = cls(int(m[1]), int(m[2]), int(m[3]))
        if len(_CACHE) < _CACHE_LIMIT:
            _CACHE[text] = value
        return value

    def __str__(self) -> str:
        return f"{self.class_}.{self.subject}.{self.detail}"

    def __repr__(self) -> str:
        return f"EnhancedStatus('{self}')"

    @property
    def is_success(self) -> bool:
        """True for class 2."""
        return self.class_ == 2

    @property
    def is_transient(self) -> bool:
        """True for class 4 (persistent transient failure: retrying may succeed)."""
        return self.class_ == 4

    @property
    def is_permanent(self) -> bool:
        """True for class 5 (permanent failure: do not retry as is)."""
        return self.class_ == 5

    @property
    def entry(self) -> RegistryEntry | None:
        """The registry entry for X.subject.detail, or None when it is not registered."""
        return ENTRIES.get((self.subject, self.detail))

    @property
    def registered(self) -> bool:
        """True when X.subject.detail is an enumerated code of the IANA registry."""
        return (self.subject, self.detail) in ENTRIES

    @property
    def deprecated(self) -> bool:
        """True for X.6.10, which IANA deprecated as a duplicate of X.6.8."""
        return (self.subject, self.detail) in DEPRECATED

    @property
    def class_info(self) -> ClassInfo:
        """The registry's meaning of the class digit."""
        return CLASSES[self.class_]

    @property
    def subject_info(self) -> SubjectInfo | None:
        """The registry's meaning of the subject, or None for subjects above 7."""
        return SUBJECTS.get(self.subject)

    def with_class(self, class_: int) -> EnhancedStatus:
        """The same subject and detail with another class digit."""
        if class_ == self.class_:
            return self
        return EnhancedStatus(class_, self.subject, self.detail)

    def canonical(self) -> EnhancedStatus:
        """The code to send: a deprecated code (X.6.10) becomes its replacement (X.6.8)."""
        repl = DEPRECATED.get((self.subject, self.detail))
        if repl is None:
            return self
        return EnhancedStatus(self.class_, *repl)

    def describe(self) -> str:
        """A one-line description for people.

        A code that is not registered is described by its class and subject, as RFC 3463
        asks of clients that meet an unknown detail.

        >>> EnhancedStatus.parse("5.7.606").describe()
        '5.7.606: permanent failure; Security or Policy Status (detail 606 is not registered)'
        """
        head = f"{self}: {_CLASS_WORDS[self.class_]}"
        subject = SUBJECTS.get(self.subject)
        if subject is None:
            return f"{head}; subject {self.subject} is not defined"
        entry = ENTRIES.get((self.subject, self.detail))
        if entry is None:
            return f"{head}; {subject.summary} (detail {self.detail} is not registered)"
        if entry.deprecated:
            repl = self.canonical()
            return f"{head}; {subject.summary}: deprecated, a duplicate of {repl}"
        return f"{head}; {subject.summary}: {entry.sample_text}"


def _prime_cache() -> None:
    for subject, detail in ENTRIES:
        for class_ in (2, 4, 5):
            value = EnhancedStatus(class_, subject, detail)
            _CACHE[str(value)] = value


_prime_cache()
