"""The README documents every column of the schema and the two set-up commands."""

from __future__ import annotations

from pathlib import Path

from gymdata.schema import TABLES, describe

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_has_a_row_for_every_column():
    for table in TABLES:
        assert f"#### `{table}`" in README
        for name, type_, _nullable, description in describe(table):
            assert f"| `{name}` | {type_} |" in README, f"README lacks {table}.{name}"


def test_readme_setup_commands_match_ci():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make demo" in README and "make test" in README and "make test" in ci
