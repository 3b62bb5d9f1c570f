"""Keyword pre-checks for the pattern tables: skip a regular expression that cannot match.

:func:`literal_factors` reads a pattern (with CPython's own regular-expression parser)
and returns literal strings at least one of which every match of the pattern contains;
a table row whose strings are all absent from a text is not searched (a substring test
is many times cheaper than a regex search with a large alternation). The factors are a
necessary condition only, so the tables give exactly the same answers with or without
them; when a pattern holds anything the analysis does not follow, or its best factors
are too short to help, there is no pre-check and the pattern is always searched.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Final

__all__ = ["AnyOf", "KeywordScanner", "Prechecked", "literal_factors", "split_alternatives"]

#: Factors shorter than this rule out too little to pay for the test.
MIN_LENGTH: Final = 3


def _parser() -> Any:
    try:  # CPython's parser of regular expressions (re._parser since 3.11)
        return importlib.import_module("re._parser")
    except ImportError:  # pragma: no cover - another implementation: no pre-checks
        return None


_PARSER: Final[Any] = _parser()


# Words found in nearly every bounce: a factor inside one of them rules out little.
_COMMON: Final = (
    "mail delivery failed: the message could not be delivered to the following recipient "
    "address of the user, domain, sender or server; error status for this account host "
    "exceeded the maximum size limit, not found, valid, unknown, known"
)


def _strength(option: frozenset[str]) -> float:
    """How much a set of factors rules out: long, uncommon strings, and few of them."""
    weakest = min(len(k) - (4 if k in _COMMON else 0) for k in option)
    return weakest - 0.25 * len(option)


def _best(candidates: list[frozenset[str]]) -> frozenset[str] | None:
    best: frozenset[str] | None = None
    for option in candidates:
        if not option or "" in option:
            continue
        if best is None or _strength(option) > _strength(best):
            best = option
    return best


def _sequence(items: Any) -> frozenset[str] | None:
    """Factors of a sequence of parsed items: its best literal run or required part."""
    names = _PARSER  # re._parser re-exports the opcode constants (LITERAL, BRANCH ...)
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is names.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is names.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                continue  # inline flags (case, ...): not followed
            found = _sequence(sub)
        elif op is names.BRANCH:
            found = _branch(av[1])
        elif op in (names.MAX_REPEAT, names.MIN_REPEAT, getattr(names, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            found = _sequence(sub) if low >= 1 else None
        else:  # classes, anchors, look-arounds, references: no literal known
            found = None
        if found is not None:
            candidates.append(found)
    flush()
    return _best(candidates)


def _branch(alternatives: Any) -> frozenset[str] | None:
    union: set[str] = set()
    for alternative in alternatives:
        found = _sequence(alternative)
        if found is None:
            return None  # one alternative has no known literal: anything may match
        union |= found
    return frozenset(union)


def literal_factors(pattern: str) -> tuple[str, ...] | None:
    """Strings one of which every match of ``pattern`` contains; None when unknown.

    Only patterns without flags are analysed (the tables match lower-cased text with
    lower-case patterns); None also when the best factors are shorter than
    :data:`MIN_LENGTH` characters.
    """
    if _PARSER is None:  # pragma: no cover - not CPython
        return None
    try:
        parsed = _PARSER.parse(pattern)
        if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
            return None  # "(?i)" at the start: the literals would not be exact
        found = _sequence(parsed)
    except Exception:  # pragma: no cover - an unexpected parser shape: no pre-check
        return None
    if found is None or min(map(len, found)) < MIN_LENGTH:
        return None
    return tuple(sorted(found, key=lambda k: (len(k), k)))


class Prechecked:
    """A compiled pattern with its keyword pre-check: ``search`` is ``re.search`` exactly."""

    __slots__ = ("_alternatives", "keys", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern: re.Pattern[str] = re.compile(pattern, flags)
        self.keys = literal_factors(pattern) if flags == 0 else None
        self._alternatives = (
            None if flags else tuple(
                (tuple(keys) if keys is not None else None, plain, piece)
                for keys, plain, piece in AnyOf(pattern).alternatives
            )
        )

    def found(self, text: str) -> bool:
        """``search(text) is not None``, searching only the top-level alternatives whose
        keywords are in ``text`` (a plain-literal one found needs no search)."""
        alternatives = self._alternatives
        if alternatives is None:
            return self.pattern.search(text) is not None
        for keys, plain, pattern in alternatives:
            if keys is not None:
                for key in keys:
                    if key in text:
                        break
                else:
                    continue
                if plain:
                    return True
            if pattern.search(text) is not None:
                return True
        return False

    def search(self, text: str) -> re.Match[str] | None:
        keys = self.keys
        if keys is not None:
            for key in keys:
                if key in text:
                    break
            else:
                return None
        return self.pattern.search(text)

    def rows(self) -> tuple[tuple[str, ...] | None, re.Pattern[str]]:
        """(keys, pattern), for loops that inline the pre-check."""
        return self.keys, self.pattern


def _trie_pattern(words: list[str]) -> str:
    """A regular expression matching the longest of ``words`` that starts at a position,
    shaped as a trie (shared prefixes written once), so that the regex engine follows one
    branch per character instead of trying every word in turn."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    def build(node: dict[str, Any]) -> str:
        # Depth is bounded by the longest keyword (a few dozen characters).
        branches = [re.escape(char) + build(child)
                    for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


class KeywordScanner:
    """Which of a fixed set of keywords a text contains, in one regex scan.

    ``present(text)`` equals ``{k for k in keywords if k in text}``: the trie-shaped
    pattern matches the longest keyword starting at a position, and every keyword that
    is a prefix of it starts there too; the next search starts one character further,
    so a keyword starting at any other position is found at its own.
    """

    __slots__ = ("_pattern", "_prefixes", "keywords")

    def __init__(self, keywords: set[str] | frozenset[str] | list[str]) -> None:
        self.keywords = tuple(sorted({k for k in keywords if k}))
        self._pattern = re.compile(_trie_pattern(list(self.keywords)), re.DOTALL)
        known = set(self.keywords)
        self._prefixes: dict[str, frozenset[str]] = {
            k: frozenset(k[:i] for i in range(1, len(k) + 1) if k[:i] in known)
            for k in self.keywords
        }

    def present(self, text: str) -> set[str]:
        """The keywords that occur in ``text``."""
        found: set[str] = set()
        prefixes = self._prefixes
        search = self._pattern.search
        m = search(text)
        while m is not None:
            found |= prefixes[m[0]]
            m = search(text, m.start() + 1)
        return found


_REFERENCE: Final = re.compile(r"\\[1-9]|\(\?P=")


def split_alternatives(pattern: str) -> list[str]:
    """``pattern`` cut at its top-level ``|`` (outside groups and character classes).

    ``A|B`` matches somewhere in a text exactly when ``A`` or ``B`` does, so the pieces
    can be searched one by one. A pattern the cut could change (inline flags, group
    references, which number groups across alternatives) is returned whole.
    """
    flags_first = pattern.startswith("(?") and pattern[2:3].isalpha()
    if flags_first or _REFERENCE.search(pattern):
        return [pattern]
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            # "]" right after "[" or "[^" is a member, not the end of the class
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            pieces.append(pattern[start:i])
            start = i + 1
        i += 1
    pieces.append(pattern[start:])
    return pieces


def _literal(pattern: str) -> str | None:
    """The string ``pattern`` matches when it is a plain literal (``amazonses\\.com``)."""
    if _PARSER is None:  # pragma: no cover - not CPython
        return None
    try:
        items = list(_PARSER.parse(pattern))
    except re.error:  # pragma: no cover - the pieces of a valid pattern are valid
        return None
    if not items or any(op is not _PARSER.LITERAL for op, _ in items):
        return None
    return "".join(chr(av) for _, av in items)


class AnyOf:
    """A pattern searched as its top-level alternatives, each with its own keywords.

    ``matches(text, present)`` is ``pattern.search(text) is not None`` when ``present``
    holds every keyword of :attr:`keywords` that occurs in ``text`` (as
    :meth:`KeywordScanner.present` gives): an alternative none of whose keywords occurs
    is not searched, and a plain-literal alternative whose keyword occurs matches
    without a search.
    """

    __slots__ = ("alternatives", "keys")

    def __init__(self, pattern: str) -> None:
        re.compile(pattern)  # a bad pattern fails here, whole
        alternatives: list[tuple[frozenset[str] | None, bool, re.Pattern[str]]] = []
        for piece in split_alternatives(pattern):
            factors = literal_factors(piece)
            keys = frozenset(factors) if factors is not None else None
            plain = factors is not None and _literal(piece) == factors[0] == factors[-1]
            alternatives.append((keys, plain, re.compile(piece)))
        self.alternatives = tuple(alternatives)
        #: Every keyword of the alternatives; None when one alternative has none (the
        #: pattern may then match without any keyword).
        self.keys: frozenset[str] | None = (
            None if any(keys is None for keys, _, _ in alternatives)
            else frozenset(k for keys, _, _ in alternatives if keys for k in keys)
        )

    def matches(self, text: str, present: set[str] | frozenset[str]) -> bool:
        """True when the pattern matches somewhere in ``text``."""
        for keys, plain, pattern in self.alternatives:
            if keys is not None:
                if keys.isdisjoint(present):
                    continue
                if plain:
                    return True
            if pattern.search(text) is not None:
                return True
        return False
