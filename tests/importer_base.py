"""The checks every importer must pass, run on its fake corpus (after torchvision's DatasetTestCase).

A test class per importer derives from :class:`ImporterContract` and implements
:meth:`~ImporterContract.make_corpus` (write the fake corpus, return the expected row counts) and
:meth:`~ImporterContract.bad_inputs` (corruptions of the fake corpus and the error each must give).
The contract then checks, through the ``gymdata`` CLI:

* a missing root and an empty root: exit code 2 and one ``error:`` line naming the problem;
* the row count of every table, and that the summary line is printed;
* the types: each table has exactly its schema, ``videos.corpus`` is the importer's, ``extras`` are
  JSON objects, label rows say where they came from;
* ``gymdata validate`` passes on the result;
* importing again is a no-op (``dataset.json`` untouched), ``--force`` re-imports the same rows;
* each bad input: a non-zero exit, one ``error:`` line matching the expected message, and nothing
  half-written (an existing dataset unchanged, a new one not created, no temporary folders left).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gymdata import store
from gymdata.schema import LABEL_TABLES, TABLES
from tests.conftest import run_cli

BadInput = tuple[Callable[[Path], None], str]


class ImporterContract:
    """Base class of the importer tests (not collected itself: its name does not start with Test)."""

    #: Entry-point name: ``gymdata import <importer>``.
    importer: str
    #: Value of ``videos.corpus`` in the result.
    corpus: str
    #: Extra command-line arguments for every import.
    args: tuple[str, ...] = ("-j", "1", "--quiet")

    # -- what each importer's test class provides --------------------------------------------------

    def make_corpus(self, root: Path) -> dict[str, int]:
        """Write the fake corpus under ``root``; return the expected rows per table."""
        raise NotImplementedError

    def bad_inputs(self) -> dict[str, BadInput]:
        """Named corruptions: (function that damages the corpus at ``root``, regex of the error)."""
        return {}

    def source(self, root: Path) -> Path:
        """What is passed on the command line (the corpus root by default)."""
        return root

    def prepare(self, root: Path, name: str) -> None:
        """Anything the import needs in the store first (nothing by default)."""

    # -- helpers -----------------------------------------------------------------------------------

    def run_import(self, path: Path, name: str = "ds", *extra: str) -> tuple[int, str, str]:
        return run_cli("import", self.importer, str(path), "--name", name, *self.args, *extra)

    @pytest.fixture
    def fake(self, tmp_path) -> tuple[Path, dict[str, int]]:
        root = tmp_path / "corpus"
        root.mkdir()
        return root, self.make_corpus(root)

    @pytest.fixture
    def imported(self, fake) -> tuple[store.Dataset, dict[str, int], str]:
        root, expected = fake
        self.prepare(root, "ds")
        code, out, err = self.run_import(self.source(root))
        assert code == 0, err
        return store.open_dataset("ds"), expected, out

    @staticmethod
    def store_state(home: Path) -> dict[str, bytes]:
        """Every file of the store (dataset.json contents and part names): what a failure must not change."""
        if not home.exists():
            return {}
        return {str(p.relative_to(home)): (p.read_bytes() if p.name == "dataset.json" else b"")
                for p in sorted(home.rglob("*")) if p.is_file() and p.name != ".lock"}

    @staticmethod
    def one_error_line(code: int, err: str, pattern: str) -> str:
        assert code != 0, "the import should have failed"
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert re.search(pattern, lines[0]), f"{lines[0]!r} does not match {pattern!r}"
        return lines[0]

    def pytest_generate_tests(self, metafunc):
        if "bad_input" in metafunc.fixturenames:
            metafunc.parametrize("bad_input", sorted(self.bad_inputs()))

    # -- the contract ------------------------------------------------------------------------------

    def test_missing_root(self, tmp_path, isolated_store):
        code, _out, err = self.run_import(tmp_path / "absent")
        self.one_error_line(code, err, "not found")
        assert code == 2 and self.store_state(isolated_store) == {}

    def test_empty_root(self, tmp_path, isolated_store):
        (tmp_path / "empty").mkdir()
        code, _out, err = self.run_import(tmp_path / "empty")
        self.one_error_line(code, err, "empty")
        assert code == 2

    def test_counts(self, imported):
        ds, expected, out = imported
        counts = ds.row_counts()
        for table in TABLES:
            if table in expected:
                assert counts.get(table, 0) == expected[table], table
        assert out.startswith("imported ") and "into dataset 'ds'" in out

    def test_types(self, imported):
        ds, _expected, _out = imported
        for table in ds.row_counts():
            assert ds.read(table).schema.equals(TABLES[table].schema, check_metadata=False), table
        videos = ds.df("videos")
        assert set(videos["corpus"]) == {self.corpus}
        assert videos["video_id"].is_unique
        assert all(isinstance(json.loads(e), dict) for e in videos["extras"].dropna())
        assert (videos["fps"] > 0).all() and (videos["num_frames"] > 0).all()
        for table in LABEL_TABLES:
            if ds.has(table):
                labels = ds.df(table)
                assert set(labels["origin"]) == {"imported"} and labels["annotator"].notna().all(), table
                assert labels["created_at"].notna().all(), table

    def test_validate_passes(self, imported):
        code, out, err = run_cli("validate", "ds")
        assert code == 0, err
        assert out.startswith("ok: dataset 'ds' is valid")

    def test_reimport_is_a_no_op_and_force_reimports(self, imported, fake, isolated_store):
        ds, _expected, _out = imported
        root, _ = fake
        before = self.store_state(isolated_store)
        counts = ds.row_counts()
        code, out, err = self.run_import(self.source(root))
        assert code == 0, err
        assert "up to date" in out
        assert self.store_state(isolated_store) == before
        code, out, err = self.run_import(self.source(root), "ds", "--force")
        assert code == 0, err
        again = store.open_dataset("ds")
        assert again.row_counts() == counts
        assert again.meta["updated_at"] != ds.meta["updated_at"]

    def test_bad_input(self, bad_input, fake, isolated_store):
        damage, pattern = self.bad_inputs()[bad_input]
        root, _ = fake
        self.prepare(root, "ds")
        code, _out, err = self.run_import(self.source(root))
        assert code == 0, err
        before = self.store_state(isolated_store)
        damage(root)
        code, _out, err = self.run_import(self.source(root), "ds", "--force")
        self.one_error_line(code, err, pattern)
        assert self.store_state(isolated_store) == before, "a failed import changed the store"
        if self.source(root) == root:  # a new dataset is not created either
            code, _out, err = self.run_import(root, "fresh")
            self.one_error_line(code, err, pattern)
            assert not store.exists("fresh")
            # nothing hidden left behind but the store's lock folder
            assert not [p for p in isolated_store.iterdir() if p.name.startswith(".") and p.name != store.LOCKS]
