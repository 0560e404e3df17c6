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


def test_layout_map_names_every_core_module():
    """README "Layout of the code" is the newcomer's map: every core module and subpackage is on it."""
    layout = README[README.index("## Layout of the code"):README.index("## Real data")]
    core = Path(__file__).resolve().parents[1] / "gymdata"
    modules = {p.stem for p in core.glob("*.py") if p.name != "__init__.py"}
    modules |= {p.name for p in core.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    # a module may be listed as `name.py` or, once it is a subpackage, as `name/`
    missing = sorted(m for m in modules if f"`{m}.py`" not in layout and f"`{m}/`" not in layout)
    assert not missing, f"README 'Layout of the code' does not say what these own: {missing}"
    for package in ("importers/", "exporters/", "annotators/", "baselines/"):
        assert package in layout
