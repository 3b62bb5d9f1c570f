"""Fuzz target for :func:`smtpdsn.parse_reply` (RFC 5321 section 4.2 replies).

The invariant: for any input, str or bytes, strict or lenient, ``parse_reply`` returns a
:class:`~smtpdsn.Reply` (whose wire form is its text plus CRLF, every line within the 512
octets of RFC 5321 section 4.5.3.1.5) or raises :class:`~smtpdsn.ReplySyntaxError`. Any
other exception is a crash.

With atheris (``pip install atheris``; wheels exist for CPython 3.11 on Linux x86-64)::

    python3 fuzz/parse_reply.py -runs=200000              # CI-sized: about a minute
    python3 fuzz/parse_reply.py -max_total_time=3600 DIR  # a long run, corpus kept in DIR

Arguments are libFuzzer's (``-help=1`` lists them). Without atheris the script runs the
same check on seeded pseudo-random inputs (``--runs N``, default 200,000), so a CI job
can call it either way; it exits 1 on the first input that breaks the invariant, printing it.
"""

from __future__ import annotations

import contextlib
import random
import sys

from smtpdsn import Reply, ReplySyntaxError, parse_reply

__all__ = ["check", "main"]

# Pieces replies are made of, so random inputs reach past the first line's code.
_PIECES = ("550", "250", "-", " ", "5.1.1", "5.7.606", "4.2.2", "\r\n", "\n", "\r",
           "\udcff", "\x00", "é", "\u2028", "x" * 600)


def check(data: str | bytes, strict: bool) -> None:
    """Parse ``data``; raise AssertionError when the invariant does not hold."""
    try:
        reply = parse_reply(data, strict=strict)
    except ReplySyntaxError:
        return
    assert isinstance(reply, Reply), f"returned {type(reply).__name__}"
    assert reply.wire == str(reply).encode("utf-8") + b"\r\n", f"{reply!r}: wire differs"
    longest = max(len(line) for line in reply.wire.split(b"\r\n")[:-1]) + 2
    assert longest <= 512, f"{reply!r} has a line of {longest} octets"


def _one_input(raw: bytes) -> None:
    import atheris

    fdp = atheris.FuzzedDataProvider(raw)
    strict = fdp.ConsumeBool()
    if fdp.ConsumeBool():
        check(fdp.ConsumeUnicode(fdp.remaining_bytes()), strict)
    else:
        check(fdp.ConsumeBytes(fdp.remaining_bytes()), strict)


def _random_input(rng: random.Random) -> str | bytes:
    text = "".join(rng.choice(_PIECES) if rng.random() < 0.6 else chr(rng.randrange(0x110000))
                   for _ in range(rng.randrange(12)))
    if rng.random() < 0.5:
        return text.encode("utf-8", "surrogatepass")
    return text


def _without_atheris(argv: list[str]) -> int:
    runs = 200_000
    if "--runs" in argv:
        runs = int(argv[argv.index("--runs") + 1])
    rng = random.Random(9)
    for _ in range(runs):
        data = _random_input(rng)
        for strict in (True, False):
            try:
                check(data, strict)
            except Exception as exc:
                print(f"invariant broken for {data!r} (strict={strict}): {exc!r}")
                return 1
    print(f"parse_reply: {runs:,} random inputs, invariant held (atheris not installed)")
    return 0


def main(argv: list[str]) -> int:
    """Run under atheris when it is installed, else the seeded random loop."""
    try:
        import atheris
    except ImportError:
        return _without_atheris(argv[1:])
    import smtpdsn.parse
    import smtpdsn.reply
    import smtpdsn.status

    for module in (smtpdsn.parse, smtpdsn.reply, smtpdsn.status):  # coverage feedback
        for value in vars(module).values():
            if callable(value) and getattr(value, "__module__", None) == module.__name__:
                # (classes and builtins cannot be instrumented)
                with contextlib.suppress(Exception):
                    atheris.instrument_func(value)
    atheris.Setup(argv, _one_input)
    atheris.Fuzz()
    return 0  # pragma: no cover - atheris.Fuzz() exits the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
