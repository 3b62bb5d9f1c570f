"""Accuracy of smtpdsn.classify against the corpus expectations (../shared/corpus).

The figures are computed from ``expected.tsv`` and the real :func:`classify` output:

* recipient: the row's recipient is found (by its ``Final-Recipient`` when the message
  has one, else by position);
* status: the enhanced status equals sisimai's, over the rows whose status is a real
  enhanced status code (rows marked ``status_is_sisimai_pseudo`` and rows without a
  status are left out);
* reason: the reason equals sisimai's, over all rows;
* hard/soft: ``hard_bounce is True`` exactly when sisimai says hardbounce=true (sisimai's
  false covers both our False and our None, "not a delivery failure");
* reply_code (informational): the reply code equals sisimai's, over the rows with one.

A row whose recipient is not found counts as a miss for every figure.

One difference from sisimai's labels is deliberate (docs/classify.md, "Where smtpdsn
differs from sisimai"): sisimai calls a delay warning ``expired`` whatever its cause;
smtpdsn reports the cause the warning gives (``expired`` only when the MTA says delivery
time expired). ``reason`` counts those rows as misses; ``reason_documented`` counts a row
as agreeing when the only difference is that one, and is the figure the issue's target
is checked on.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smtpdsn.classify import Action, Bounce, Reason, classify

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
MAILDIR = CORPUS / "set-of-emails" / "maildir" / "bsd"
EXPECTED = CORPUS / "expected.tsv"

#: The issue's targets (percent).
TARGETS = {"recipient": 99.0, "status": 95.0, "reason_documented": 93.0, "hard": 96.0}
#: What this implementation reaches today: a regression floor, raised as it improves
#: (measured: recipient 99.6%, status 98.8%, reason 92.2%, reason_documented 93.4%,
#: hard 96.9%, reply code 93.9%).
FLOORS = {"recipient": 99.5, "status": 98.7, "reason": 92.1, "reason_documented": 93.3,
          "hard": 96.8, "reply_code": 93.8}
#: The targets this implementation meets: the test fails if one is no longer met.
MET = ("recipient", "status", "reason_documented", "hard")

pytestmark = pytest.mark.skipif(not EXPECTED.exists(), reason="shared corpus not present")


def _norm(address: str) -> str:
    address = address.strip()
    if ";" in address[:12]:
        address = address.partition(";")[2]
    return address.strip().strip("<>").strip().lower()


@dataclass
class Figures:
    counts: dict[str, list[int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def add(self, name: str, ok: bool, row: dict[str, str], got: str) -> None:
        hit_total = self.counts.setdefault(name, [0, 0])
        hit_total[0] += ok
        hit_total[1] += 1
        if not ok:
            self.misses.append(f"{name}\t{row['sample_file']}#{row['recipient_index']}\t{got}")

    def percent(self, name: str) -> float:
        hit, total = self.counts.get(name, [0, 0])
        return 100.0 * hit / total if total else 0.0

    def summary(self) -> str:
        return "  ".join(
            f"{name} {self.percent(name):.1f}% ({h}/{t})"
            for name, (h, t) in self.counts.items()
        )


def _match(row: dict[str, str], found: list[Bounce]) -> Bounce | None:
    wanted = _norm(row["dsn_final_recipient"])
    if wanted:
        for bounce in found:
            if _norm(bounce.recipient) == wanted:
                return bounce
        return None
    index = int(row["recipient_index"]) - 1
    return found[index] if index < len(found) else None


def _delay_cause(bounce: Bounce | None, row: dict[str, str]) -> bool:
    """The documented difference: sisimai's ``expired`` for a delay warning for which
    smtpdsn reports the cause (or ``onhold`` when the warning names none)."""
    return (
        bounce is not None
        and row["sisimai_reason"] == "expired"
        and bounce.action is Action.DELAYED
        and bounce.reason is not Reason.EXPIRED
    )


def measure() -> Figures:
    """Classify every sample named in expected.tsv and compare."""
    with EXPECTED.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    results: dict[str, list[Bounce]] = {}
    figures = Figures()
    for row in rows:
        name = row["sample_file"]
        if name not in results:
            results[name] = classify((MAILDIR / name).read_bytes()).recipients
        bounce = _match(row, results[name])
        figures.add("recipient", bounce is not None, row, "")
        if row["sisimai_status"] and row["status_is_sisimai_pseudo"] != "yes":
            got = str(bounce.status) if bounce else "-"
            figures.add("status", got == row["sisimai_status"], row,
                        f"{got} want {row['sisimai_status']}")
        reason = bounce.reason.value if bounce else "-"
        figures.add("reason", reason == row["sisimai_reason"], row,
                    f"{reason} want {row['sisimai_reason']}")
        figures.add("reason_documented",
                    reason == row["sisimai_reason"] or _delay_cause(bounce, row), row,
                    f"{reason} want {row['sisimai_reason']}")
        if row["sisimai_replycode"]:  # informational: not one of the targets
            code = str(bounce.reply_code) if bounce else "-"
            figures.add("reply_code", code == row["sisimai_replycode"], row,
                        f"{code} want {row['sisimai_replycode']}")
        hard = bool(bounce and bounce.hard_bounce is True)
        figures.add("hard", hard == (row["sisimai_hardbounce"] == "true"), row,
                    f"{hard} want {row['sisimai_hardbounce']}")
    return figures


def test_accuracy_figures() -> None:
    figures = measure()
    print("\nclassify accuracy:", figures.summary())
    print("issue targets:", ", ".join(
        f"{name} {'met' if figures.percent(name) >= goal else 'NOT met'} (>= {goal}%)"
        for name, goal in TARGETS.items()
    ))
    reached = {name: figures.percent(name) for name in FLOORS}
    for name, floor in FLOORS.items():
        assert reached[name] >= floor, f"{name} fell to {reached[name]:.1f}% (floor {floor}%)"
    for name in MET:
        goal = TARGETS[name]
        assert reached[name] >= goal, f"{name} {reached[name]:.1f}% misses the target {goal}%"


if __name__ == "__main__":  # pragma: no cover - a development aid
    result = measure()
    print("\n".join(result.misses))
    print(result.summary())
