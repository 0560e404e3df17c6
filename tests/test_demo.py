"""The main job, end to end: ``gymdata demo`` on a small sample, twice (the rerun is a no-op)."""

from __future__ import annotations

from gymdata import store
from tests.conftest import run_cli


def test_demo_generates_imports_validates_and_reruns_cheaply():
    code, out, err = run_cli("demo", "--subjects", "2", "-j", "1")
    assert code == 0, err
    assert "done: datasets sample" in out
    ds = store.open_dataset("sample")
    assert ds.count("videos") > 0 and ds.count("scores") == ds.count("videos")
    names = set(store.list_datasets())
    if "sample-alex" in names:  # when the alex-gym-1 importer is installed
        alex = store.open_dataset("sample-alex")
        assert alex.count("criteria") > 0 and alex.count("poses") > 0
    before = (ds.path / "dataset.json").read_bytes()
    code, out, err = run_cli("demo", "--subjects", "2", "-j", "1")
    assert code == 0, err
    assert "already generated" in out and "up to date" in out + err
    assert (ds.path / "dataset.json").read_bytes() == before
