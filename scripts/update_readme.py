"""Rewrite the factory table in README.md from the code (``smtpdsn.factory_table_markdown``).

Usage: ``python scripts/update_readme.py``. ``tests/test_factories.py`` fails when the
README's table and the code disagree.
"""

from __future__ import annotations

from pathlib import Path

from smtpdsn.factories import factory_table_markdown

START = "<!-- factory-table:start -->\n"
END = "<!-- factory-table:end -->"


def main() -> int:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + factory_table_markdown() + END + tail, encoding="utf-8")
    print(f"updated {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
