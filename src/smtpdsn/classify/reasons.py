"""The reason table: which words and which status codes mean which bounce reason.

Everything here is data. :data:`PHRASES` is an ordered list of ``(reason, pattern)`` rows
matched against the lower-cased diagnostic text; the first row that matches wins, so more
specific rows come first. :data:`STATUS_REASONS` maps an enhanced status (``"5.1.1"``, or
the class-free ``"X.1.1"``) to the reason it means when the text says nothing clearer.
To teach the classifier a new phrasing, add one row; nothing else changes.

The vocabulary and many of the phrasings are those of sisimai (BSD 2-Clause,
https://libsisimai.org/), written here as general patterns rather than exact strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Final

from ..status import EnhancedStatus
from .model import Reason
from .prefilter import AnyOf, KeywordScanner

__all__ = [
    "PHRASES", "STATUS_REASONS", "cause_of_delay", "reason_from_status", "reason_from_text",
    "says_expired",
]

R = Reason

#: Ordered phrase rules: (reason, regular expression on the lower-cased text).
PHRASES: Final[tuple[tuple[Reason, str], ...]] = (
    # -- not a failure at all / list and delivery-service specific -----------------------------
    (R.SUPPRESSED, r"suppression list|address (?:is|was) suppressed|on the suppression"),
    # -- strong signs that beat the broad rows below ---------------------------------------
    (R.NOTCOMPLIANTRFC, r"duplicate header|multiple addresses in from|not rfc ?5322 compliant"),
    (R.CONTENTERROR, r"headers? (?:are |is )?too (?:large|long|many)"),
    (R.BADREPUTATION, r"reputation|sender score|senderscore|user complaints"),
    (R.MAILERERROR, r"procmail|pipe to \||\bexit (?:code|status) \d"),
    (R.SYSTEMERROR, r"\bldap\b|directory server"),
    (R.REQUIREPTR, r"ip name lookup failed|name lookup failed for"),
    (R.BLOCKED, r"service refused|not accepting connections"),
    # -- authentication of the sender's domain (SPF, DKIM, DMARC, ARC) -------------------------
    (R.AUTHFAILURE, r"\bdmarc\b|\bspf\b[^.]{0,40}(?:fail|check|not (?:designate|permit)|"
     r"softfail)|(?:fail|didn't pass|did not pass|not pass)[^.]{0,40}\b(?:spf|dkim)\b|"
     r"\bdkim\b[^.]{0,40}(?:fail|invalid|not valid|missing|required)|"
     r"unauthenticated (?:e-?mail|message)|not (?:properly )?authenticated.{0,40}"
     r"(?:sender|domain)|authentication (?:checks?|requirements)|sender authentication|"
     r"\bsender policy framework\b|is not designated to send|not authorized to send on behalf|"
     r"bad spf records?|per it'?s spf record|spf (?:policy|validation)|"
     r"authentication information|fails? to pass (?:spf|dkim|authentication)"),
    # -- reverse DNS of the sending host -------------------------------------------------------
    (R.REQUIREPTR, r"\bptr\b|reverse (?:dns|lookup|dns lookup|hostname)|\brdns\b|"
     r"cannot find your (?:reverse )?hostname|can't find your hostname|"
     r"(?:ip|address|host)[^.]{0,40}(?:does not|doesn't|did not) (?:have|resolve)[^.]{0,20}"
     r"(?:host ?name|name|dns)|no (?:reverse|dns) (?:record|entry)|"
     r"hostname[^.]{0,30}(?:does not|doesn't|did not) (?:resolve|match)|"
     r"not (?:match|resolve)[^.]{0,30}(?:forward|reverse)|mismatches client ip|"
     r"forward-confirmed|fcrdns|\bhelo\b[^.]{0,40}(?:not (?:resolve|valid)|invalid)"),
    # -- the mailbox is full -------------------------------------------------------------------
    (R.MAILBOXFULL, r"mail ?box (?:is )?(?:full|over ?quota|size limit exceeded|"
     r"has exceeded|exceeded)|over ?quota|quota (?:exceeded|violation|limit|is full)|"
     r"exceeded (?:his|her|their|its)?[^.]{0,20}quota|exceed(?:ed|s|ing)? (?:the |its |their )?"
     r"(?:storage|disk space|mailbox|quota)|full mailbox|(?:user|recipient|mailbox|account)"
     r"[^.]{0,30}(?:is )?(?:full|over the quota)|insufficient (?:space|storage) (?:in|for)|"
     r"not enough (?:storage|disk|space)|disk quota|boite du destinataire pleine|"
     r"too much mail data|too many messages (?:on the server|in (?:this|the) mailbox)|"
     r"mailfolder is full|space has been used up|storage (?:allocation|limit)|"
     r"mailbox exceeds (?:the )?allowed size"),
    # -- the message is too big ----------------------------------------------------------------
    (R.EXCEEDLIMIT, r"exceeds? (?:the )?administrative limit|message length exceeds|"
     r"exceeds? (?:the )?(?:per-?mailbox|recipient'?s?) (?:size )?limit"),
    (R.MESGTOOBIG, r"(?:message|mail|e-?mail)(?: is)? (?:too (?:big|large)|size exceeds|"
     r"exceeds? (?:the )?(?:size|maximum|max))|(?:size|length) (?:limit )?exceed|"
     r"exceeds? (?:the )?(?:maximum )?(?:message )?size|too large|too big|"
     r"size limit|message size|maximum (?:message )?size|line too long|line limit"),
    # -- the account is disabled or suspended --------------------------------------------------
    (R.SUSPEND, r"(?:account|mail ?box|user|address|recipient)[^.]{0,40}(?:is |has been |was )?"
     r"(?:disabled|suspended|deactivated|inactive|frozen|locked|expired|closed|"
     r"on hold|not active|no longer active|temporarily unavailable|not currently active|"
     r"temporar(?:y|ily) locked)|temporar(?:y|ily) locked|"
     r"(?:disabled|suspended|inactive|deactivated|closed) (?:account|mail ?box|user)|"
     r"not accepting (?:any )?(?:new )?(?:messages|mail) due to|extended inactivity|"
     r"mailbox unavailable due to|(?:inbox|mailbox|address) is no longer (?:in use|active|"
     r"monitored)|no longer in use"),
    (R.HASMOVED, r"has moved|moved (?:permanently|to)|address (?:has )?changed|"
     r"no longer (?:uses|at) this address|mailbox (?:owner )?has changed|"
     r"is no longer (?:a )?valid[^.]{0,40}(?:use|try)"),
    # -- strong signs that beat the generic rows below -------------------------------------
    (R.USERUNKNOWN, r"recipient address rejected: (?:access denied|user unknown|undeliverable)|"
     r"recipient address rejected(?:\.|$)|address (?:couldn't|could not|can't|cannot) be found|"
     r"not listed in (?:the )?(?:domino directory|public name & address book|address book)"),
    (R.HOSTUNKNOWN, r"the account or domain may not exist"),
    (R.BLOCKED, r"banned sending ip|invalid ip for sending|messages from [\d.]+ weren't sent|"
     r"(?:sending|your|client|connecting) ip (?:address )?(?:\[[^\]]*\] )?(?:is |has been )?"
     r"(?:blocked|banned|blacklisted|block ?listed)|my name was rejected"),
    (R.POLICYVIOLATION, r"content presents a potential security issue"),
    (R.SPAMDETECTED, r"blacklisted (?:url|link)|\buribl\b|\bsurbl\b"),
    # -- relaying ------------------------------------------------------------------------------
    # "not permitted to relay ... without authentication": the client must authenticate.
    (R.SECURITYERROR, r"turn on smtp authentication|relay[^.]{0,60}without authentication"),
    (R.NORELAYING, r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed|authorized)|"
     r"prohibited|refused)|(?:unable|not permitted|not allowed|cannot|can't) (?:to )?relay|"
     r"(?:we|i) do not relay|relay not permitted|no relaying|open relay|"
     r"not (?:in|on) (?:my|the) list of allowed rcpthosts|non-accepted domain|"
     r"not a gateway|is not permitted to relay|relaying to <[^>]*> denied|"
     r"not configured to relay|address is not verified|identities failed the check"),
    # -- sender's address rejected -------------------------------------------------------------
    # Gmail's "Send mail as" alias refused: the sender's address is at fault.
    (R.REJECTED, r"'send mail as'|\bsend mail as\b[^.]{0,40}(?:misconfigured|not verified)"),
    (R.REJECTED, r"sender (?:address |domain |e-?mail address )?(?:was |is |has been )?"
     r"(?:rejected|denied|refused|invalid|blacklisted|blocked|unknown|"
     r"not (?:allowed|accepted|permitted|"
     r"verified|pre-approved))|sender verif\w* failed|invalid sender|unknown sender|"
     r"(?:sender|from|envelope|mail from)[^.]{0,60}(?:domain|address)[^.]{0,30}"
     r"(?:does not exist|doesn't exist|not found|must (?:exist|resolve)|"
     r"unknown|not resolv|invalid)|domain of sender address|bogus mail from|null sender|"
     r"empty envelope sender|(?:mail from|sender) address[^.]{0,20}(?:not|rejected)|"
     r"not allowed to (?:post|send)|you are not (?:allowed|authorized|permitted) to "
     r"(?:post|send)|(?:only|are not|is not) (?:a )?members? (?:can|of)|mail from not owned|"
     r"sender is (?:in|on)[^.]{0,20}(?:black|block) ?list|returned mail not accepted|"
     r"batv|unroutable sender|sender rejected|access denied|purported responsible address|"
     r"not a registered gateway user|"
     r"(?:mail ?from|sender|envelope from) domain [^.]{0,30}(?:listed|blocked|invalid)|"
     r"from (?:an )?address that (?:has been|is) (?:black|block)listed|"
     r"does not accept (?:mail|messages|e-?mail) from (?:you|your|this)|from: domain"),
    # -- the recipient's own filter refused the message -----------------------------------
    (R.FILTERED, r"recipient preferences|message filtered|"
     r"rejected by (?:the )?recipient(?! domain)|"
     r"blocked by the recipient|"
     r"only accepting mail from|message rejected due to user rules|\buser reject|"
     r"refuse to receive mail|not accepting mail from (?:this|the) sender"),
    # -- the recipient does not exist ----------------------------------------------------------
    (R.USERUNKNOWN, r"user ?unknown|unknown (?:user|recipient|mailbox|address|local ?part|"
     r"account|e-?mail address)|no such (?:user|mailbox|recipient|account|address|person|"
     r"local user|e-?mail)|(?:user|mailbox|recipient|address|account|e-?mail address)"
     r"(?:'s)?(?: name)?[^.]{0,25}(?:does not|doesn't|did not|does no longer) exist|"
     r"(?:user|mailbox|recipient|address|account|addressee)s? (?:is |was )?"
     r"(?:not found|unknown|invalid|not exist|not valid|unavailable|not (?:a )?known|"
     r"not listed|nonexistent|non-existent)|recipient address rejected: (?:access denied|"
     r"user unknown|undeliverable|unknown|invalid)|recipient (?:name )?is not recognized|"
     r"invalid (?:recipient|mailbox|user|address|e-?mail address)|"
     r"not (?:a )?valid (?:mailbox|user|recipient|address)|no mailbox (?:here|by that name|"
     r"found)|mailbox not found|recipient not (?:found|recognized|known)|"
     r"doesn't have an? [^ ]+ account|is not a (?:known|valid) (?:user|recipient)|"
     r"(?:user|recipient|mailbox) (?:lookup|verification) (?:failed|error)|"
     r"address lookup failed|not our customer|no account by that name|"
     r"destination (?:mailbox|address) (?:unavailable|invalid)|bad destination mailbox|"
     r"undeliverable address|unknown or illegal alias|resolver\.adr\.recipientnotfound|"
     r"recipient ?not ?found|(?:user|account)[^.]{0,20}not (?:exist|found)|"
     r"unrecognized (?:user|recipient|address)|user(?:name)? not recogni[sz]ed|"
     r"this user doesn't have|who you sent it to|accounts? (?:.{0,20})?does not exist|"
     r"check (?:if|that|whether) (?:the )?(?:e-?mail )?address is correct|"
     r"address is (?:possibly )?incorrect|no valid recipients|invalid (?:final delivery )?userid"),
    # -- temporary DNS failures (before "domain not found": a 4xx NXDOMAIN is retried) --
    (R.NOTACCEPT, r"(?:doesn't|does not|don't|do not) receive (?:e-?)?mail|no smtp service|"
     r"couldn't find a mail exchanger|null mx|nullmx|no mx found"),
    (R.NETWORKERROR, r"host not found, try again|dns query failed|network error|"
     r"host name lookup failure|"
     r"temporary (?:dns|lookup|name server) failure|dns (?:type '?\w+'? )?lookup (?:of|failed)|"
     r"try again later[^.]{0,20}dns"),
    # -- the domain does not exist -------------------------------------------------------------
    (R.HOSTUNKNOWN, r"host ?unknown|unknown (?:host|domain)|no such (?:domain|host)|"
     r"host [^ ]+ not found|(?<![@\w.-])[a-z0-9-]+(?:\.[a-z0-9-]+)+ does not exist|"
     r"domain (?:name )?(?:not found|does not exist|doesn't exist|unknown|is not valid|"
     r"must exist|is not reachable)|host (?:or domain name )?not found|"
     r"unrout(?:e)?able (?:address|domain|mail domain)|name or service not known|"
     r"illegal host/domain|nxdomain|no (?:valid )?(?:mx|a) (?:record|host)s? for|"
     r"mail domain mentioned|recipient domain must exist|invalid (?:recipient )?domain|"
     r"domain (?:part )?(?:is )?(?:invalid|unknown)|dns (?:error|lookup failure)[^.]{0,40}"
     r"(?:nxdomain|not exist|no such)|no such domain|could not resolve (?:host|domain)|"
     r"address does not have (?:a|an) (?:mx|a) record"),
    # -- IP reputation and block lists ---------------------------------------------------------
    (R.VIRUSDETECTED, r"\bvirus|malware|infected|trojan|\bworm\b|phishing|"
     r"malicious (?:content|attachment|url)"),
    (R.BLOCKED, r"\b(?:dns)?(?:rbl|bl|dnsbl|rhsbl)\b"),  # its own row: no keyword for "bl"
    (R.BLOCKED, r"black ?list|block ?list|blocked using|"
     r"listed (?:at|in|on|by)|spamhaus|spamcop|sorbs|barracudacentral|abuseat|"
     r"(?:client|connecting|sending|your) (?:host|ip|server|mta)[^.]{0,40}(?:blocked|"
     r"rejected|refused|denied|banned|not allowed|listed)|(?:ip|address|host)[^.]{0,30}"
     r"(?:is |has been )?(?:blocked|blacklisted|banned|block listed)|connection (?:refused|"
     r"rejected|denied) (?:from|by|for)|"
     r"dynamic (?:ip|address|pool)|residential|dial-?up|not accepting mail from your|"
     r"please use the smtp server of your isp|too many (?:bad|invalid) (?:commands|"
     r"recipients)|\bip\b[^.]{0,20}\bnot\b[^.]{0,20}(?:authorized|allowed|permitted)|"
     r"has been temporarily (?:blocked|rate limited)|refused to talk|"
     r"client host rejected|my name was rejected|helo[^.]{0,30}rejected"),
    (R.NOTCOMPLIANTRFC, r"rfc ?(?:5322|2822|822|5321|1123)|not (?:rfc|standards?)[- ]compliant|"
     r"multiple (?:from|to|subject|date|message-id|sender)|duplicate header|"
     r"(?:missing|invalid|malformed) (?:message-id|date|from) header|"
     r"multiple addresses in from|"
     r"not (?:comply|compliant) with|non-?compliant|bare (?:lf|cr)"),
    # -- content -------------------------------------------------------------------------------
    (R.SPAMDETECTED, r"\bspam|junk (?:mail|e-?mail)|unsolicited|bulk (?:mail|e-?mail)|"
     r"content (?:rejected|filter)|message (?:content )?(?:was )?(?:rejected|blocked|refused) "
     r"(?:as|because|due)[^.]{0,30}(?:content|spam|suspicious)|suspicious (?:content|"
     r"message)|looks like spam|high probability|scor(?:e|ing)[^.]{0,20}"
     r"(?:spam|threshold)|\buce\b"),
    # -- rate limits ---------------------------------------------------------------------------
    (R.SPEEDING, r"too many (?:recipients|messages|mails|e-?mails) (?:this|per|in the last|an?) "
     r"(?:hour|day|minute)"),
    (R.TOOMANYCONN, r"too many (?:connections|concurrent|simultaneous|sessions|smtp sessions|"
     r"recipients)|"
     r"connection (?:limit|rate limit)|concurrent connection|"
     r"too many (?:messages|mails|e-?mails)[^.]{0,20}(?:connection|session)|"
     r"frequency limited|try again later[^.]{0,30}too many"),
    (R.SPEEDING, r"rate limit|too (?:many|much) (?:messages|mail|e-?mails|"
     r"requests)|sending (?:too fast|rate)|throttl|exceeded[^.]{0,40}(?:rate|limit of|"
     r"daily|hourly|per (?:day|hour|minute))|receiving (?:mail|messages) at a rate|"
     r"temporarily deferred due to|unusual (?:rate|volume)"),
    # -- STARTTLS ------------------------------------------------------------------------------
    (R.FAILEDSTARTTLS, r"starttls|\btls\b[^.]{0,40}(?:required|fail|negotiat|handshake)|"
     r"encryption (?:is )?required|must issue a starttls"),
    # -- policy --------------------------------------------------------------------------------
    # Sendmail milters and Exim ACLs: "554 5.7.0 Header error", a header refused by policy.
    (R.POLICYVIOLATION, r"\bheader error\b"),
    (R.CONTENTERROR, r"header (?:syntax|field)|(?:invalid|malformed|illegal|bad) "
     r"(?:header|mime|content|character|message format)|mime (?:error|syntax)|"
     r"content error|improper (?:use|format)|8-?bit|encoding error"),
    (R.POLICYVIOLATION, r"polic(?:y|ies)|prohibited|not (?:allowed|permitted) by|"
     r"violat|terms of service|acceptable use|\baup\b|inappropriate"),
    # -- the destination does not accept mail --------------------------------------------------
    (R.NOTACCEPT, r"(?:does not|doesn't|do not|not) accept (?:any )?(?:e-?)?mail|"
     r"null mx|no mx (?:record|host)|host does not receive|not accepting (?:any )?mail|"
     r"accepts no mail|nullmx"),
    # -- local delivery program ----------------------------------------------------------------
    (R.MAILERERROR, r"mailer (?:error|failed)|command (?:died|failed|output)|pipe to|"
     r"exit (?:code|status|value)|procmail|local delivery (?:failed|error)|unix command|"
     r"x-unix|delivery to (?:file|pipe)|program (?:failed|exited)|child process"),
    # -- system and network --------------------------------------------------------------------
    (R.SYSTEMFULL, r"insufficient (?:system|disk) (?:storage|resources|space)|"
     r"system (?:disk )?(?:is )?full|"
     r"disk (?:is )?full|out of (?:disk|storage) space|no space left"),
    (R.SYNTAXERROR, r"syntax error|command (?:unrecognized|not recognized)|unrecognized command|"
     r"bad sequence of commands|command out of sequence|invalid command|"
     r"unknown command|line too long for|malformed address|parameter not implemented"),
    # qmail's "I'm not going to try again; this message has been in the queue too long":
    # the MTA gave up, whatever the last attempt's error was.
    (R.EXPIRED, r"in the queue too long|too long in (?:the )?queue"),
    (R.EXPIRED, r"connection timed out|timed out|time ?out|failing for a long time|"
     r"message expired|failed \d+ attempts|after \d+ (?:attempts|tries)|"
     r"did not accept our requests to connect|not reachable|could not find a gateway|"
     r"not delivered within|delivery attempts? (?:will )?(?:continue|failed for)"),
    (R.NETWORKERROR, r"network (?:is )?unreachable|no route to host|"
     r"(?:establish|open) an? (?:smtp )?connection|"
     r"connection (?:reset|refused|closed|lost|dropped)|"
     r"lost connection|could not connect|unable to connect|can't connect|cannot connect|"
     r"dns (?:error|failure|lookup|server|problem|timeout)|temporary (?:dns|lookup) failure|"
     r"host not found, try again|mx (?:lookup|record) (?:failed|error)|"
     r"too many hops|(?:mail|routing) loop|loops back|hop count|"
     r"unreachable|name server|servfail|no answer"),
    (R.EXPIRED, r"delivery time expired|retry (?:time(?:out)?|timeout)|"
     r"(?:time|period|lifetime|retry) (?:limit )?(?:has )?(?:exceeded|expired)|expired|"
     r"gave up|giving up|could not be delivered (?:for|within|after) |"
     r"undeliverable for \d+|not been delivered (?:for|within) |delayed|"
     r"will (?:keep|continue|be) (?:trying|retry|retried)|still (?:trying|retrying)|"
     r"unable to deliver[^.]{0,40}(?:after|within) \d+|queue(?:d)? (?:too long|time)|"
     r"retry timeout|has not yet been delivered|deferred for"),
    (R.SYSTEMERROR, r"system error|internal (?:server )?error|server error|local error|"
     r"service (?:currently )?unavailable|transaction failed|could not load|"
     r"(?:local|transient) (?:failure|problem|error)|configuration error|"
     r"misconfigur|service (?:not available|unavailable)|"
     r"not available|in processing|resources? (?:temporarily )?unavailable|"
     r"i/o error|database error|undeliverable|try later"),
    (R.SECURITYERROR, r"authentication (?:required|failed|is required)|"
     r"must (?:authenticate|be authenticated)|unauthori[sz]ed|not authori[sz]ed|"
     r"security (?:policy|violation)|access (?:to .{0,20})?not allowed|permission denied|"
     r"(?:user|sender) not authenticated|unauthenticated senders?|smtp authentication|"
     r"turn on (?:smtp )?authentication"),
)

# Each row split at its top-level alternatives, each with its keyword pre-check
# (prefilter.py): an alternative none of whose literal strings is in the text is not
# searched, a plain-literal one found by the scanner needs no search; the answers are
# the same as searching each row's whole pattern, only faster.
_ROWS: Final = tuple((reason, AnyOf(pattern)) for reason, pattern in PHRASES)
# One scanner for the keywords of every row.
_SCANNER: Final = KeywordScanner(
    {k for _, row in _ROWS for keys, _, _ in row.alternatives if keys for k in keys}
)


#: Enhanced status codes and what they mean when the text says nothing clearer.
#: ``X`` stands for either failure class; an exact code ("5.7.1") wins over an "X." one.
STATUS_REASONS: Final[Mapping[str, Reason]] = {
    "X.1.0": R.USERUNKNOWN, "X.1.1": R.USERUNKNOWN, "X.1.2": R.HOSTUNKNOWN,
    "X.1.3": R.USERUNKNOWN, "X.1.4": R.USERUNKNOWN, "X.1.5": R.USERUNKNOWN,
    "X.1.6": R.HASMOVED, "X.1.7": R.REJECTED, "X.1.8": R.REJECTED, "X.1.9": R.SYSTEMERROR,
    "X.1.10": R.NOTACCEPT,
    "X.2.1": R.SUSPEND, "X.2.2": R.MAILBOXFULL,
    "X.2.3": R.EXCEEDLIMIT, "X.2.4": R.SYSTEMERROR,
    "X.3.0": R.SYSTEMERROR, "X.3.1": R.SYSTEMFULL, "X.3.2": R.NOTACCEPT,
    "X.3.3": R.SYSTEMERROR, "X.3.4": R.MESGTOOBIG, "X.3.5": R.SYSTEMERROR,
    "X.4.0": R.NETWORKERROR, "X.4.1": R.NETWORKERROR, "X.4.2": R.NETWORKERROR,
    "X.4.3": R.SYSTEMERROR, "X.4.4": R.HOSTUNKNOWN, "X.4.5": R.TOOMANYCONN,
    "X.4.6": R.NETWORKERROR, "X.4.7": R.EXPIRED,
    "X.5.0": R.SYNTAXERROR, "X.5.1": R.SYNTAXERROR, "X.5.2": R.SYNTAXERROR,
    "X.5.3": R.SYNTAXERROR, "X.5.4": R.SYNTAXERROR, "X.5.5": R.SYNTAXERROR,
    "X.5.6": R.SYNTAXERROR,
    "X.6.0": R.CONTENTERROR, "X.6.1": R.CONTENTERROR, "X.6.2": R.CONTENTERROR,
    "X.6.3": R.CONTENTERROR, "X.6.4": R.CONTENTERROR, "X.6.5": R.CONTENTERROR,
    "X.6.6": R.CONTENTERROR, "X.6.7": R.CONTENTERROR, "X.6.8": R.CONTENTERROR,
    "X.6.9": R.CONTENTERROR,
    "X.7.0": R.SECURITYERROR, "X.7.1": R.SECURITYERROR, "X.7.2": R.SECURITYERROR,
    "X.7.3": R.SECURITYERROR, "X.7.4": R.SECURITYERROR, "X.7.5": R.SECURITYERROR,
    "X.7.6": R.SECURITYERROR, "X.7.7": R.SECURITYERROR, "X.7.8": R.SECURITYERROR,
    "X.7.9": R.SECURITYERROR, "X.7.10": R.FAILEDSTARTTLS, "X.7.11": R.FAILEDSTARTTLS,
    "X.7.12": R.SECURITYERROR, "X.7.13": R.SUSPEND, "X.7.14": R.SECURITYERROR,
    "X.7.15": R.SECURITYERROR, "X.7.16": R.MESGTOOBIG, "X.7.17": R.HASMOVED,
    "X.7.18": R.HASMOVED, "X.7.19": R.SECURITYERROR,
    "X.7.20": R.AUTHFAILURE, "X.7.21": R.AUTHFAILURE, "X.7.22": R.AUTHFAILURE,
    "X.7.23": R.AUTHFAILURE, "X.7.24": R.AUTHFAILURE, "X.7.25": R.REQUIREPTR,
    "X.7.26": R.AUTHFAILURE, "X.7.27": R.NOTACCEPT, "X.7.28": R.SPEEDING,
    "X.7.29": R.AUTHFAILURE, "X.7.30": R.SECURITYERROR,
    # Microsoft 365 / Exchange Online codes (documented by Microsoft).
    "5.7.509": R.AUTHFAILURE, "5.7.515": R.AUTHFAILURE, "5.7.606": R.BLOCKED,
    "5.7.511": R.BLOCKED, "5.7.708": R.BADREPUTATION, "4.7.650": R.BADREPUTATION,
    "5.7.750": R.BLOCKED, "5.4.312": R.NETWORKERROR, "5.4.316": R.EXPIRED,
    "5.1.351": R.USERUNKNOWN, "5.4.14": R.NETWORKERROR, "5.7.54": R.NORELAYING,
}


@lru_cache(maxsize=1024)
def reason_from_text(text: str) -> Reason | None:
    """The reason of the first :data:`PHRASES` row that matches ``text`` (any case)."""
    if not text:
        return None
    lowered = text.lower()
    present = _SCANNER.present(lowered)  # every row's keywords, found in one scan
    for reason, row in _ROWS:
        keys = row.keys
        if keys is not None and keys.isdisjoint(present):
            continue  # the keyword pre-check: no word of the row, no search
        if row.matches(lowered, present):
            return reason
    return None


# What an MTA writes when it has given up because the message is too old (RFC 3463
# X.4.7 "delivery time expired"), as opposed to a warning that it is still trying.
_GAVE_UP: Final = re.compile(
    r"delivery time expired|(?:message|envelope|lifetime|ttl|time to live|queue time|"
    r"retry (?:time|period)|time limit|maximum time)[^.\n]{0,20}(?:expired|exceeded)|"
    r"\bexpired\b|gave up|giving up|too long in (?:the )?queue|too old"
)
# A time-out while still retrying is a network failure, not an expiry.
_TIMEOUT: Final = re.compile(r"timed out|time ?out|not reachable|did not accept our requests")


def says_expired(text: str) -> bool:
    """True when ``text`` says the MTA gave up because delivery time expired."""
    return _GAVE_UP.search(text.lower()) is not None


@lru_cache(maxsize=1024)
def cause_of_delay(text: str) -> Reason | None:
    """The reason a delay warning gives for the delay: the first :data:`PHRASES` row other
    than an ``expired`` one that matches (a warning's "still trying", "delayed" or "will
    retry" is no cause), a time-out read as ``networkerror``; None when it names none."""
    if not text:
        return None
    lowered = text.lower()
    present = _SCANNER.present(lowered)
    for reason, row in _ROWS:
        if reason is R.EXPIRED:
            if _TIMEOUT.search(lowered) and row.matches(lowered, present):
                return R.NETWORKERROR
            continue
        keys = row.keys
        if keys is not None and keys.isdisjoint(present):
            continue
        if row.matches(lowered, present):
            return reason
    return None


def reason_from_status(status: EnhancedStatus | None) -> Reason | None:
    """The reason :data:`STATUS_REASONS` gives ``status`` (None for X.0.0 and unknown codes)."""
    if status is None:
        return None
    if status.class_ == 2:
        return R.DELIVERED
    text = str(status)
    found = STATUS_REASONS.get(text)
    if found is None:
        found = STATUS_REASONS.get(f"X.{status.subject}.{status.detail}")
    return found
