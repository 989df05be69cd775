"""Rewrite the settings tables in README.md and docs/settings.md from wattprint.settings.

Run after changing the table: ``python scripts/gen_settings_docs.py``. A test
(tests/test_settings.py) fails while a doc is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wattprint.settings import markdown_table  # noqa: E402

BEGIN, END = "<!-- settings-table:begin -->", "<!-- settings-table:end -->"


def main() -> int:
    for doc in (ROOT / "README.md", ROOT / "docs" / "settings.md"):
        text = doc.read_text()
        if BEGIN not in text or END not in text:
            print(f"{doc}: no {BEGIN} ... {END} markers", file=sys.stderr)
            return 1
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        doc.write_text(f"{head}{BEGIN}\n{markdown_table()}{END}{tail}")
        print(f"updated {doc.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
