"""The protocol core under any input: a hypothesis state machine.

Whatever bytes arrive (valid commands, garbage, message bodies, BDAT chunks, overlong
lines), split into reads anywhere, with the transport accepting or refusing each request,
the core must:

* answer every complete command with exactly one reply, in order (RFC 5321 section
  4.1.1; RFC 2920 section 3), and nothing else;
* send only valid replies (RFC 5321 section 4.2: a code, text lines ending in CRLF of at
  most 512 octets, section 4.5.3.1.5; RFC 2034: an enhanced status on every 2xx/4xx/5xx
  reply but the greeting and the EHLO/HELO reply, of the same class as the code);
* raise nothing but LocalProtocolError, and that only for the transport's own misuse;
* hold a bounded amount of the client's data.

The oracle, :class:`~tests.smtp_oracle.Framer`, reads the same bytes with the RFCs'
framing rules and no knowledge of the core, and pairs each complete unit with its reply.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from smtpdsn import Reply, parse_reply
from smtpdsn.smtp import (
    Answered,
    AuthRequest,
    Connect,
    ConnectionClosed,
    DataCommand,
    Event,
    LocalProtocolError,
    MessageReceived,
    Quit,
    Request,
    ServerConnection,
    StartTLSRequest,
    State,
)
from smtpdsn.smtp.connection import AUTH_LINE, BASE_COMMAND_LINE, MAIL_EXTRA

from .smtp_oracle import Framer
from .smtp_support import held, message_held, unread

_COMMANDS = [
    b"EHLO client.test",
    b"HELO client.test",
    b"MAIL FROM:<a@x.test>",
    b"MAIL FROM:<> RET=HDRS ENVID=x+2By",
    b"MAIL FROM:<a@x.test> SIZE=100 BODY=8BITMIME",
    b"MAIL FROM:<j\xc3\xb6ran@x.test> SMTPUTF8",
    b"mail from:<a@x.test> XFOO",
    b"RCPT TO:<b@x.test>",
    b"RCPT TO:<b@x.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@x.test",
    b"RCPT TO:<x y@x.test>",
    b"RCPT TO:<>",
    b"DATA",
    b"DATA now",
    b"RSET",
    b"NOOP",
    b"VRFY a",
    b"EXPN a",
    b"HELP",
    b"STARTTLS",
    b"AUTH PLAIN",
    b"AUTH PLAIN AHUAcA==",
    b"AUTH LOGIN",
    b"AUTH LOGIN dQ==",
    b"dXNlcg==",
    b"*",
    b"BDAT 0 LAST",
    b"BDAT x",
    b"BOGUS",
    b"",
    b"NOOP\x00x",
    b"\xff\xfe",
    b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA",
    b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>",
    b"EHLO c\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==",
    b"EHLO c\r\nAUTH PLAIN\r\nAHUAcA==",
    b"EHLO c\r\nSTARTTLS",
    b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nBDAT 3\r\n.\r\n",
]

# Commands often come after a valid start, so that every command is also tried in the
# middle of a transaction.
_PREFIXES = [
    b"",
    b"EHLO c\r\n",
    b"EHLO c\r\nMAIL FROM:<a@x.test>\r\n",
    b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n",
    b"RSET\r\n",
]
_line = st.builds(
    lambda prefix, command, end: prefix + command + end,
    st.sampled_from(_PREFIXES),
    st.sampled_from(_COMMANDS),
    st.sampled_from([b"\r\n", b"\r\n", b"\n"]),
)
_bdat = st.tuples(st.binary(max_size=40), st.booleans()).map(
    lambda t: b"BDAT %d%s\r\n" % (len(t[0]), b" LAST" if t[1] else b"") + t[0]
)
_body = st.lists(
    st.sampled_from(
        [b"text", b".", b"..", b"\r\n", b"\n", b"\r", b" ", b"\r\n.", b"x" * 300, b"QUIT\r\n"]
    ),
    max_size=12,
).map(b"".join)
_message = _body.map(lambda b: b + b"\r\n.\r\n")
_transaction = st.tuples(st.sampled_from([b"", b"A" * 6000]), _body).map(
    lambda t: (
        b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
        + t[1]
        + t[0]
        + b"\r\n.\r\n"
    )
)
_garbage = st.binary(max_size=40)
_long = st.integers(min_value=400, max_value=6000).map(lambda n: b"A" * n)
_unit = st.one_of(_line, _line, _line, _line, _transaction, _bdat, _message, _garbage, _long)
_stream = st.lists(_unit, min_size=1, max_size=16).map(b"".join)


def random_stream(rng: random.Random) -> tuple[bytes, list[int]]:
    """Client bytes drawn uniformly from the same units, and where to cut them.

    Hypothesis favours simple values; this draws every unit equally often, so that
    combinations deep in a session (a command in the middle of a transaction, a long line
    inside a message) come up in the default number of examples.
    """
    parts: list[bytes] = []
    inside: list[int] = []  # offsets inside long lines
    for _ in range(rng.randint(1, 30)):
        kind = rng.random()
        if kind < 0.6:
            parts.append(
                rng.choice(_PREFIXES) + rng.choice(_COMMANDS) + rng.choice([b"\r\n", b"\n"])
            )
        elif kind < 0.7:
            pieces = [b"text", b".", b"..", b"\r\n", b"\n", b"\r", b"\r\n.", b"x" * 300]
            body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
            unit = _PREFIXES[3] + b"DATA\r\n" + body
            if rng.random() < 0.3:
                # A long line inside the message, often with a read ending inside it.
                run = rng.randint(900, 6000)
                inside.append(sum(map(len, parts)) + len(unit) + 2 + rng.randint(0, run))
                unit += b"\r\n" + b"L" * run
            parts.append(unit + b"\r\n.\r\n")
        elif kind < 0.8:
            payload = rng.randbytes(rng.randint(0, 40))
            last = b" LAST" if rng.random() < 0.5 else b""
            parts.append(b"BDAT %d%s\r\n" % (len(payload), last) + payload)
        elif kind < 0.9:
            parts.append(rng.randbytes(rng.randint(0, 40)))
        else:
            parts.append(b"A" * rng.randint(400, 6000))
    data = b"".join(parts)
    cuts = [rng.randint(0, len(data)) for _ in range(rng.randint(0, 8))]
    cuts += [c for c in inside if rng.random() < 0.5]
    return data, cuts


_REFUSALS = [
    Reply(550, "5.7.1", "Refused by policy"),
    Reply(451, "4.3.0", "Try again later"),
    Reply(452, "4.3.1", "Insufficient system storage"),
    Reply(421, "4.3.2", "Service shutting down"),
]


class CoreMachine(RuleBasedStateMachine):
    """A transport that drives a ServerConnection with arbitrary input."""

    conn: ServerConnection
    framer: Framer

    @initialize(
        options=st.fixed_dictionaries(
            {
                "max_message_size": st.sampled_from([64, 1000, 5000]),
                "max_recipients": st.sampled_from([1, 100]),
                "max_errors": st.sampled_from([5, 20, 1000, 1000]),
                "smtputf8": st.booleans(),
                "chunking": st.booleans(),
                "starttls": st.booleans(),
                "auth_mechanisms": st.sampled_from([(), ("PLAIN", "LOGIN")]),
                "auth_require_tls": st.booleans(),
            }
        ),
        rng=st.randoms(use_true_random=True),
        opening=_stream,
        cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=5),
    )
    def start(
        self, options: dict[str, Any], rng: random.Random, opening: bytes, cuts: list[int]
    ) -> None:
        self.conn = ServerConnection("mx.example.test", **options)
        self.framer = Framer(chunking=options["chunking"])
        self.rng = rng
        self.eof = False
        self.closed_seen = False
        self.lost = False  # the transport closed without a reply
        max_line = max(
            BASE_COMMAND_LINE + MAIL_EXTRA, AUTH_LINE if options["auth_mechanisms"] else 0
        )
        self.max_line = max_line
        self.max_size = options["max_message_size"]
        self.pump()
        self.receive(opening, cuts)  # examples with few steps still get far
        self.receive(*random_stream(rng))

    # -- the transport's part --------------------------------------------------------------

    def answer(self, event: Request) -> tuple[Reply | None, bool]:
        """The reply to a request and whether it closes: mostly the default."""
        roll = self.rng.random()
        if roll < 0.85 or (isinstance(event, Connect) and roll < 0.95):
            return None, False
        if isinstance(event, Connect):
            return self.rng.choice(
                [Reply(554, "5.7.1", "No service"), Reply(421, "4.3.2", "Busy")]
            ), False
        if isinstance(event, StartTLSRequest):
            return Reply(454, "4.7.0", "TLS not available"), False
        if isinstance(event, AuthRequest):
            return Reply(535, "5.7.8", "Authentication credentials invalid"), False
        if isinstance(event, Quit):
            return Reply(221, "2.0.0", "Goodbye"), False
        return self.rng.choice(_REFUSALS), roll > 0.99

    def pump(self) -> None:
        conn = self.conn
        self.framer.add_replies(conn.data_to_send())
        while True:
            event: Event | None = conn.next_event()
            self.framer.add_replies(conn.data_to_send())
            if event is None:
                break
            assert not self.closed_seen, f"{event!r} after ConnectionClosed"
            if isinstance(event, ConnectionClosed):
                self.closed_seen = True
                assert conn.closed
                continue
            if isinstance(event, Answered):
                assert event.error == (event.reply.code >= 400)
            if isinstance(event, MessageReceived) and not event.chunked:
                self.framer.messages.append(event.content)
            if isinstance(event, Request):
                assert conn.pending is event
                if self.rng.random() < 0.1:
                    break  # the application takes its time: answered by a later rule
                self.reply_to(event)
        pending = conn.pending is not None
        self.framer.advance(waiting=pending)
        if pending:
            assert conn.next_event() is None  # nothing is read while a request waits
        else:
            # Memory (while a request waits, the transport stops reading: that is its flow
            # control): the unread input is at most the longest line the core reads, so no
            # overlong line is held whole; the message at most the size limit.
            assert unread(conn) <= self.max_line, (unread(conn), self.max_line, conn.state)
            assert message_held(conn) <= self.max_size, (message_held(conn), conn.state)
            assert held(conn) <= 2 * self.max_line + self.max_size
        if conn.closed:
            assert self.closed_seen
        else:
            assert not self.closed_seen

    def reply_to(self, event: Request) -> None:
        conn = self.conn
        reply, closing = self.answer(event)
        if isinstance(event, DataCommand) and reply is not None and reply.code == 250:
            reply = None
        sent = conn.send_reply(reply, close=closing)
        assert reply is None or sent == reply
        self.framer.add_replies(conn.data_to_send(), closing=closing)

    # -- rules -----------------------------------------------------------------------------

    @rule(data=_stream, cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=5))
    def receive_rule(self, data: bytes, cuts: list[int]) -> None:
        self.receive(data, cuts)

    @rule()
    def receive_random(self) -> None:
        self.receive(*random_stream(self.rng))

    def receive(self, data: bytes, cuts: list[int]) -> None:
        """Feed ``data`` in pieces cut at ``cuts``, checking the replies after each."""
        points = sorted({c for c in cuts if c < len(data)})
        pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
        for piece in pieces:
            if not piece:
                continue
            if self.eof:
                with pytest.raises(LocalProtocolError):
                    self.conn.receive_data(piece)
                continue
            self.conn.receive_data(piece)
            self.framer.feed(piece)
            self.pump()
        if not (self.eof or self.lost or self.conn.closed):
            assert (self.framer.mode == "closed") == self.conn.closed

    @precondition(lambda self: not self.eof)
    @rule()
    def half_close(self) -> None:
        """After the client's EOF every complete unit is answered (checked by the framer)
        and the connection ends, unless it waits for the transport to start TLS."""
        if self.rng.random() < 0.7:
            return  # it ends the example: not too early
        self.eof = True
        self.conn.receive_data(b"")
        self.pump()
        if self.conn.state is not State.TLS and self.conn.pending is None:
            assert self.conn.closed and self.closed_seen

    @precondition(lambda self: self.conn.pending is not None)
    @rule()
    def answer_late(self) -> None:
        """The application answers the request that waited; the commands behind it go on."""
        event = self.conn.pending
        assert event is not None
        self.reply_to(event)
        self.pump()
        if self.eof and self.conn.state is not State.TLS and self.conn.pending is None:
            assert self.conn.closed and self.closed_seen

    @rule()
    def idle_timeout(self) -> None:
        """``close_with``: the transport's own 421 outside any command."""
        if self.rng.random() < 0.8:
            return  # it ends the example: rare
        was_closed = self.conn.closed
        self.conn.close_with(Reply(421, "4.4.2", "Idle timeout"))
        out = self.conn.data_to_send()
        if was_closed:
            assert out == b""
        else:
            assert parse_reply(out).code == 421
            self.framer.mode = "closed"
            self.framer.buf = b""
            self.framer.messages.clear()  # a pending message is dropped unanswered
            self.pump()
            assert self.closed_seen

    @rule()
    def tls_step(self) -> None:
        """Start TLS when it was accepted; otherwise the call is misuse and raises."""
        if self.conn.state is State.TLS:
            self.conn.tls_started()
            assert self.conn.tls and self.conn.client_name is None
            self.framer.mode = "command"
            self.framer.buf = b""
            self.pump()
        else:
            state = self.conn.state
            with pytest.raises(LocalProtocolError):
                self.conn.tls_started()
            assert self.conn.state is state

    @precondition(lambda self: self.conn.pending is not None)
    @rule()
    def wrong_reply(self) -> None:
        """A reply that cannot answer the pending request raises; the request still waits."""
        event = self.conn.pending
        if isinstance(event, Connect):
            wrong = Reply(250, "2.0.0", "Hello")
        elif isinstance(event, DataCommand):
            wrong = Reply(250, "2.0.0", "OK")
        else:
            wrong = Reply(354, None, "Go ahead")
        with pytest.raises(LocalProtocolError):
            self.conn.send_reply(wrong)
        assert self.conn.pending is event and self.conn.data_to_send() == b""

    @precondition(lambda self: self.conn.pending is None)
    @rule()
    def misuse(self) -> None:
        """A reply when none is due raises and changes nothing."""
        state = self.conn.state
        with pytest.raises(LocalProtocolError):
            self.conn.send_reply()
        with pytest.raises(LocalProtocolError):
            self.conn.send_reply("250 OK")  # type: ignore[arg-type]
        assert self.conn.state is state and self.conn.data_to_send() == b""

    @rule()
    def lose_connection(self) -> None:
        if self.rng.random() < 0.9:
            return  # it ends the example: rare
        was_closed = self.conn.closed
        self.conn.close()
        assert self.conn.data_to_send() == b""
        self.lost = True
        self.framer.mode = "closed"
        self.framer.buf = b""
        self.framer.messages.clear()
        self.pump()
        assert self.closed_seen or was_closed

    @invariant()
    def nothing_left_to_send(self) -> None:
        if hasattr(self, "conn"):
            assert self.conn.data_to_send() == b""


# SMTPDSN_FUZZ_EXAMPLES=20000 for a longer hunt than the default run.
CoreMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SMTPDSN_FUZZ_EXAMPLES", "600")),
    stateful_step_count=30,
    deadline=None,
)
TestCore = CoreMachine.TestCase


_VERBS = [
    b"EHLO ",
    b"HELO ",
    b"MAIL FROM:",
    b"MAIL FROM:<",
    b"MAIL FROM:<a@x.test> ",
    b"RCPT TO:",
    b"RCPT TO:<",
    b"RCPT TO:<b@x.test> ",
    b"RCPT TO:<b@x.test> ORCPT=",
    b"RCPT TO:<b@x.test> ORCPT=utf-8;",
    b"MAIL FROM:<> ENVID=",
    b"DATA ",
    b"BDAT ",
    b"RSET ",
    b"NOOP ",
    b"QUIT ",
    b"VRFY ",
    b"VRFY <",
    b"EXPN ",
    b"HELP ",
    b"STARTTLS ",
    b"AUTH ",
    b"AUTH PLAIN ",
    b"AUTH LOGIN ",
]


@settings(max_examples=int(os.environ.get("SMTPDSN_FUZZ_EXAMPLES", "400")), deadline=None)
@given(
    st.sampled_from(_VERBS),
    st.one_of(
        st.binary(max_size=60),
        st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
    st.booleans(),
    st.booleans(),
)
def test_any_argument_gets_one_valid_reply(
    verb: bytes, argument: bytes, smtputf8: bool, in_transaction: bool
) -> None:
    """Every command word with any argument octets (UTF-8 or not, controls, lone
    surrogates): one reply, valid, and no exception (RFC 5321 section 4.1.1)."""
    conn = ServerConnection(
        "mx.example.test",
        smtputf8=smtputf8,
        starttls=True,
        auth_mechanisms=("PLAIN", "LOGIN"),
        auth_require_tls=False,
    )
    conn.next_event()
    conn.send_reply()
    setup = b"EHLO c\r\n"
    if in_transaction:
        setup += b"MAIL FROM:<a@x.test> SMTPUTF8\r\nRCPT TO:<b@x.test>\r\n"
    line = verb + argument.replace(b"\n", b" ")
    conn.receive_data(setup + line + b"\r\n" + b"NOOP\r\n")
    conn.receive_data(b"")
    while (event := conn.next_event()) is not None:
        if isinstance(event, Request):
            conn.send_reply()
    framer = Framer(chunking=True)
    framer.feed(setup + line + b"\r\n" + b"NOOP\r\n")
    framer.add_replies(conn.data_to_send())
    # The greeting, the setup, the line (unless it starts a chunk or a SASL exchange that
    # the NOOP then feeds) and the NOOP: the framer pairs them all.
    framer.advance(waiting=conn.state is State.TLS)
    assert conn.closed or conn.state is State.TLS
