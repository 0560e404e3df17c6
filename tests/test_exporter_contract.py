"""Every export format against the exporter contract (tests/exporter_base.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gymdata import store
from gymdata.sample import generate_sample
from gymdata.splits import make_split
from tests.conftest import run_cli
from tests.exporter_base import ExporterContract


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """A small synthetic corpus in both layouts (ALEX-GYM-1 and videos + CSVs)."""
    out = tmp_path_factory.mktemp("sample") / "s"
    generate_sample(out, seed=0, subjects=3, takes=1, reps=(2, 3), size=64, fps=10)
    return out


def _imported(name: str, *args: str) -> str:
    code, _, err = run_cli("import", *args, "--name", name, "--quiet")
    assert code == 0, err
    make_split(store.open_dataset(name), ratios=(0.5, 0, 0.5))
    return name


class _FromAlex(ExporterContract):
    def make_dataset(self, tmp_path, request):
        return _imported("a", "alex-gym-1", str(request.getfixturevalue("sample") / "alex-gym-1"))


class TestHfParquet(_FromAlex):
    format = "hf-parquet"

    def check_output(self, out, ds, clips):
        assert (out / "README.md").is_file() and list((out / "data").glob("*.parquet"))


class TestAlexGym(_FromAlex):
    format = "alex-gym-1"

    def check_output(self, out, ds, clips):
        assert (out / "squat.xlsx").is_file() and (out / "subjects.csv").is_file()


class TestArrays(_FromAlex):
    format = "arrays"
    options = ("frames=4", "size=16")

    def check_output(self, out, ds, clips):
        assert (out / "meta.json").is_file() and (out / "clips.parquet").is_file()


class TestScoresCsv(ExporterContract):
    format = "scores-csv"

    def make_dataset(self, tmp_path, request):
        videos = request.getfixturevalue("sample") / "videos"
        return _imported("v", "videos", str(videos), "--meta", str(videos / "subjects.csv"))

    def check_output(self, out, ds, clips):
        assert (out / "meta.csv").is_file() and (out / "squat_scores.csv").read_text().startswith("relative_path,")


class TestRepcount(ExporterContract):
    format = "repcount"

    def make_dataset(self, tmp_path, request):
        return _imported("r", "repcount", str(request.getfixturevalue("sample") / "videos"))

    def check_output(self, out, ds, clips):
        assert sorted(p.name for p in (out / "annotation").iterdir()) == ["test.csv", "train.csv"]


class TestFlex(ExporterContract):
    format = "flex"

    def make_dataset(self, tmp_path, request):
        from tests.fakes.flex import write_flex

        write_flex(tmp_path / "flex", phantom=False)
        code, _, err = run_cli("import", "flex", str(tmp_path / "flex"), "--name", "f", "--quiet")
        assert code == 0, err
        return "f"  # the import fills the split with FLEX's Split_4

    def check_output(self, out, ds, clips):
        assert (out / "knowledge_graph.json").is_file() and (out / "Split_4").is_dir()
