"""The checks every export format must pass (the exporters' counterpart of ``importer_base.py``).

A test class per format derives from :class:`ExporterContract`, names its ``format`` and implements
:meth:`~ExporterContract.make_dataset` (import a small dataset the format can take, with a split).
The contract then checks, through ``gymdata export``:

* an export prints its one-line summary (``--json``: format, clip count, folder) and writes ``OUT``,
  leaving no temporary folder beside it; :meth:`~ExporterContract.check_output` adds the format's own
  checks of what is inside;
* ``--split PART`` exports exactly the clips of that part;
* an existing ``OUT`` is refused in one line and left as it was, and replaced with ``--overwrite``;
* an unknown ``-o`` option is one line naming the format's options, and writes nothing;
* an export interrupted before ``OUT`` is in place leaves neither ``OUT`` nor its temporary folder.

Round trips (export, import again, compare) are in ``tests/test_export.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gymdata import store
from tests.conftest import run_cli


class ExporterContract:
    """Base class of the per-format contract tests (not collected itself: no ``Test`` prefix)."""

    #: Entry-point name: ``gymdata export NAME --format <format>``.
    format: str
    #: ``-o KEY=VALUE`` options every export of the tests passes.
    options: tuple[str, ...] = ()

    # -- what each format's test class provides ----------------------------------------------------

    def make_dataset(self, tmp_path: Path, request: pytest.FixtureRequest) -> str:
        """Import a small dataset the format can export, with a default split; return its name
        (``request`` gives the test module's fixtures, e.g. a shared source corpus)."""
        raise NotImplementedError

    def check_output(self, out: Path, ds: store.Dataset, clips: int) -> None:
        """The format's own checks of a whole-dataset export in ``out`` (``clips`` were exported)."""

    # -- the contract ----------------------------------------------------------------------------

    def export(self, name: str, out: Path, *args: str) -> tuple[int, str, str]:
        opts = [a for o in self.options for a in ("-o", o)]
        return run_cli("export", name, "--format", self.format, str(out), *opts, "-j", "1", "--quiet", *args)

    @pytest.fixture
    def dataset(self, tmp_path, request) -> str:
        return self.make_dataset(tmp_path, request)

    def test_writes_out_and_prints_a_summary(self, dataset, tmp_path):
        out = tmp_path / "out"
        code, text, err = self.export(dataset, out)
        assert code == 0, err
        assert text.startswith("exported ") and f"as {self.format} to {out}" in text
        assert out.is_dir() and any(out.iterdir())
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
        code, js, err = self.export(dataset, out, "--overwrite", "--json")
        assert code == 0, err
        doc = json.loads(js)
        assert doc["format"] == self.format and doc["clips"] > 0 and doc["out"] == str(out)
        self.check_output(out, store.open_dataset(dataset), doc["clips"])

    def test_split_selects_exactly_its_clips(self, dataset, tmp_path):
        ds = store.open_dataset(dataset)
        parts = ds.df("videos", columns=["split"])["split"].value_counts()
        part = parts.index[0]
        code, js, err = self.export(dataset, tmp_path / "part", "--split", str(part), "--json")
        assert code == 0, err
        assert json.loads(js)["clips"] == int(parts[part]) < ds.count("videos")

    def test_existing_out_is_refused_then_replaced_with_overwrite(self, dataset, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        (out / "keep.txt").write_text("mine")
        code, _, err = self.export(dataset, out)
        assert code != 0 and "output folder already exists" in err and len(err.strip().splitlines()) == 1, err
        assert (out / "keep.txt").read_text() == "mine"
        code, _, err = self.export(dataset, out, "--overwrite")
        assert code == 0, err
        assert not (out / "keep.txt").exists() and any(out.iterdir())

    def test_unknown_option_is_one_line(self, dataset, tmp_path):
        out = tmp_path / "out"
        code, _, err = self.export(dataset, out, "-o", "no_such_option=1")
        assert code != 0 and f"format {self.format!r} has no option 'no_such_option'" in err, err
        assert len(err.strip().splitlines()) == 1 and not out.exists()

    def test_interrupted_export_leaves_nothing(self, dataset, tmp_path, monkeypatch):
        import exporters

        def interrupted(tmp, final):
            raise KeyboardInterrupt

        monkeypatch.setattr(exporters, "swap_into_place", interrupted)  # the last step of every export
        code, _, _ = self.export(dataset, tmp_path / "half")
        assert code == 130
        assert not [p.name for p in tmp_path.iterdir() if "half" in p.name]
