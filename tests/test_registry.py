"""The registry holds every row of IANA's CSV files, unchanged."""

from __future__ import annotations

import csv

import pytest

from smtpdsn.registry import CLASSES, DEPRECATED, ENTRIES, SUBJECTS, lookup
from tests.support import REFERENCE


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


CODE_ROWS = _csv_rows("enhanced-status-codes.csv")


def test_registry_has_all_81_codes_from_x00_to_x730() -> None:
    assert len(CODE_ROWS) == 81
    assert len(ENTRIES) == 81
    assert min(ENTRIES) == (0, 0)
    assert max(ENTRIES) == (7, 30)


@pytest.mark.parametrize("row", CODE_ROWS, ids=[r["code"] for r in CODE_ROWS])
def test_each_registry_code_matches_the_iana_csv(row: dict[str, str]) -> None:
    _, subject, detail = row["code"].split(".")
    entry = lookup(int(subject), int(detail))
    assert entry is not None
    assert entry.code == row["code"]
    assert entry.sample_text == row["sample_text"]
    assert entry.basic_codes == row["associated_basic_codes"]
    assert entry.description == row["description"]
    assert entry.reference == row["reference"]


def test_classes_and_subjects_match_the_csv() -> None:
    rows = _csv_rows("classes-subjects.csv")
    classes = [r for r in rows if r["kind"] == "class"]
    subjects = [r for r in rows if r["kind"] == "subject"]
    assert sorted(CLASSES) == [2, 4, 5]
    assert sorted(SUBJECTS) == list(range(8))
    for r in classes:
        info = CLASSES[int(r["code"][0])]
        assert (info.summary, info.description, info.code) == (
            r["summary"], r["description"], r["code"])
    for r in subjects:
        sinfo = SUBJECTS[int(r["code"].split(".")[1])]
        assert (sinfo.summary, sinfo.description, sinfo.code) == (
            r["summary"], r["description"], r["code"])


def test_only_x610_is_deprecated_and_points_to_x68() -> None:
    assert [e.code for e in ENTRIES.values() if e.deprecated] == ["X.6.10"]
    assert DEPRECATED[(6, 10)] == (6, 8)
    entry = lookup(6, 10)
    assert entry is not None and entry.replacement == (6, 8)


def test_unregistered_code_is_not_found() -> None:
    assert lookup(7, 606) is None
