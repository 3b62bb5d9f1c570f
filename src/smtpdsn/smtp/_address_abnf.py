"""The ABNF of RFC 5321 section 4.1.2 and 4.1.3 paths and RFC 6531 section 3.3, as regexes.

Only :mod:`smtpdsn.smtp.address` uses these; each regex sits under the ABNF it is built from.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ATEXT",
    "ATEXT_ONLY",
    "ATEXT_ONLY_UTF8",
    "DCONTENT",
    "IPV4",
    "IPV6",
    "LABEL_CHARS",
    "LABEL_CHARS_UTF8",
    "LET_DIG",
    "MAILBOX_ASCII",
    "MAILBOX_UTF8",
    "NON_ASCII",
    "PATH_ASCII",
    "PATH_UTF8",
    "QTEXT",
    "QUOTED_ANY",
    "QUOTED_PAIR",
    "TAG",
]

# ---------------------------------------------------------------------------------------
# The grammar
#
# RFC 5321 section 4.1.2:
#
#   Reverse-path   = Path / "<>"
#   Forward-path   = Path
#   Path           = "<" [ A-d-l ":" ] Mailbox ">"
#   A-d-l          = At-domain *( "," At-domain )
#                  ; Note that this form, the so-called "source
#                  ; route", MUST BE accepted, SHOULD NOT be
#                  ; generated, and SHOULD be ignored.
#   At-domain      = "@" Domain
#
#   Domain         = sub-domain *("." sub-domain)
#   sub-domain     = Let-dig [Ldh-str]
#   Let-dig        = ALPHA / DIGIT
#   Ldh-str        = *( ALPHA / DIGIT / "-" ) Let-dig
#
#   address-literal  = "[" ( IPv4-address-literal /
#                    IPv6-address-literal /
#                    General-address-literal ) "]"
#
#   Mailbox        = Local-part "@" ( Domain / address-literal )
#   Local-part     = Dot-string / Quoted-string
#                  ; MAY be case-sensitive
#   Dot-string     = Atom *("."  Atom)
#   Atom           = 1*atext
#   Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
#   QcontentSMTP   = qtextSMTP / quoted-pairSMTP
#   quoted-pairSMTP  = %d92 %d32-126
#                  ; i.e., backslash followed by any ASCII
#                  ; graphic (including itself) or SPace
#   qtextSMTP      = %d32-33 / %d35-91 / %d93-126
#
# atext is RFC 5322 section 3.2.3's:
#
#   atext          = ALPHA / DIGIT /    ; Printable US-ASCII
#                    "!" / "#" /        ;  characters not including
#                    "$" / "%" /        ;  specials.  Used for atoms.
#                    "&" / "'" /
#                    "*" / "+" /
#                    "-" / "/" /
#                    "=" / "?" /
#                    "^" / "_" /
#                    "`" / "{" /
#                    "|" / "}" /
#                    "~"
#
# RFC 6531 section 3.3 (only after MAIL FROM with the SMTPUTF8 parameter):
#
#   sub-domain     =/  U-label
#   atext          =/  UTF8-non-ascii
#   qtextSMTP      =/  UTF8-non-ascii
#
# Here a U-label is checked for shape only: non-ASCII characters count as letters in
# sub-domain's rule (Let-dig at both ends, hyphens between). The
# regexes below let every non-ASCII code point through: the parsers first refuse anything
# that is not ``str.isprintable()`` (controls, C1, line and paragraph separators, format
# characters such as U+200B, lone surrogates, non-ASCII spaces), and non-ASCII at all
# without SMTPUTF8.
# ---------------------------------------------------------------------------------------

NON_ASCII: Final = "\u0080-\U0010ffff"
# atext without "-", which each class adds last (where it is no range).
ATEXT: Final = "A-Za-z0-9!#$%&'*+/=?^_`{|}~"
QTEXT: Final = r" !#-\[\]-~"
QUOTED_PAIR: Final = r"\\[ -~]"
LET_DIG: Final = "A-Za-z0-9"
# dcontent (section 4.1.3, below): printable ASCII but "[", "\" and "]".
DCONTENT: Final = r"!-Z^-~"


def _compile(non_ascii: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compile the Path and Mailbox regexes, with ``non_ascii`` added to the classes that
    RFC 6531 extends (``""`` for plain RFC 5321)."""
    atom = f"[{ATEXT}{non_ascii}-]+"
    dot_string = rf"{atom}(?:\.{atom})*"
    quoted_string = f'"(?:[{QTEXT}{non_ascii}]|{QUOTED_PAIR})*"'
    let_dig = f"[{LET_DIG}{non_ascii}]"
    sub_domain = f"{let_dig}(?:[{LET_DIG}{non_ascii}-]*{let_dig})?"
    domain = rf"{sub_domain}(?:\.{sub_domain})*"
    # The literal's inside (IPv4, IPv6 or general) is checked by address._literal_reason().
    address_literal = rf"\[[{DCONTENT}]+\]"
    mailbox = f"(?P<local>{dot_string}|{quoted_string})@(?P<domain>{domain}|{address_literal})"
    a_d_l = f"@{domain}(?:,@{domain})*"
    path = f"<(?:{a_d_l}:)?(?P<mailbox>{mailbox})>"
    return re.compile(path), re.compile(mailbox)


PATH_ASCII, MAILBOX_ASCII = _compile("")
PATH_UTF8, MAILBOX_UTF8 = _compile(NON_ASCII)

# RFC 5321 section 4.1.3:
#
#   IPv4-address-literal  = Snum 3("."  Snum)
#   IPv6-address-literal  = "IPv6:" IPv6-addr
#   General-address-literal  = Standardized-tag ":" 1*dcontent
#   Standardized-tag  = Ldh-str
#                     ; Standardized-tag MUST be specified in a
#                     ; Standards-Track RFC and registered with IANA
#   dcontent       = %d33-90 / ; Printable US-ASCII
#                  %d94-126 ; excl. "[", "\", "]"
#   Snum           = 1*3DIGIT
#                  ; representing a decimal integer
#                  ; value in the range 0 through 255
#   IPv6-addr      = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp
#   IPv6-hex       = 1*4HEXDIG
#   IPv6-full      = IPv6-hex 7(":" IPv6-hex)
#   IPv6-comp      = [IPv6-hex *5(":" IPv6-hex)] "::"
#                  [IPv6-hex *5(":" IPv6-hex)]
#                  ; The "::" represents at least 2 16-bit groups of
#                  ; zeros.  No more than 6 groups in addition to the
#                  ; "::" may be present.
#   IPv6v4-full    = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
#   IPv6v4-comp    = [IPv6-hex *3(":" IPv6-hex)] "::"
#                  [IPv6-hex *3(":" IPv6-hex ":")]
#                  IPv4-address-literal
#                  ; The "::" represents at least 2 16-bit groups of
#                  ; zeros.  No more than 4 groups in addition to the
#                  ; "::" and IPv4-address-literal may be present.
#
# The "IPv6:" tag is an ABNF quoted string, so case-insensitive. A literal tagged IPv6 is
# never taken as a General-address-literal (else every bad IPv6 literal would pass as one):
# it is a valid IPv6 address or it is refused. The stdlib ipaddress module checks the
# address; the IPV6 regex and a group count add what RFC 5321 says beyond it (no zone index
# such as "%eth0", and "::" for at least two groups).
IPV4: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
IPV6: Final = re.compile(r"[0-9A-Fa-f:.]+")
TAG: Final = re.compile(f"[{LET_DIG}-]*[{LET_DIG}]")

# For the error messages only (the slow path): the extent of a quoted string.
QUOTED_ANY: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
ATEXT_ONLY: Final = re.compile(f"[{ATEXT}.-]*")
ATEXT_ONLY_UTF8: Final = re.compile(f"[{ATEXT}{NON_ASCII}.-]*")
LABEL_CHARS: Final = re.compile(f"[{LET_DIG}-]*")
LABEL_CHARS_UTF8: Final = re.compile(f"[{LET_DIG}{NON_ASCII}-]*")
