"""The main job, end to end: ``gymdata demo`` on a small sample, twice (the rerun skips every step)."""

from __future__ import annotations

import json

from gymdata import store
from tests.conftest import run_cli

# small: 3 people (the split needs one per part), 4 frames per clip for BlazePose, 3 epochs
DEMO = ("demo", "--subjects", "3", "-j", "1", "--frames", "4", "--epochs", "3")


def test_demo_runs_the_whole_pipeline_and_reruns_cheaply():
    code, out, err = run_cli(*DEMO)
    assert code == 0, err
    for step in range(1, 10):
        assert f"[{step}/9]" in out
    assert "person detected in" in out and "no leakage" in out and "Hamming loss" in out and "OBO" in out
    home = store.home()
    ds = store.open_dataset("sample")
    assert ds.count("videos") > 0 and ds.count("scores") == ds.count("videos") and ds.count("poses") > 0
    assert set(ds.df("videos", columns=["split"])["split"]) == {"train", "val", "test"}
    assert (home / "exports" / "sample-hf" / "README.md").is_file()
    assert (home / "runs" / "demo-vcoach-sample-alex" / "eval-test.json").is_file()
    assert (home / "reports" / "sample" / "index.html").is_file()
    alex = store.open_dataset("sample-alex")
    assert alex.count("criteria") > 0 and alex.count("poses") > 0

    before = {n: (store.open_dataset(n).path / "dataset.json").read_bytes() for n in ("sample", "sample-alex")}
    best = (home / "runs" / "demo-vcoach-sample-alex" / "best.pt").stat().st_mtime_ns
    code, out, err = run_cli(*DEMO, "--json")
    assert code == 0, err
    figures = json.loads(out)  # --json: stdout is the machine form, the steps went to stderr
    assert "already generated" in err and "(already made)" in err and err.count("(up to date)") == 6  # both imports and the four read-only steps
    assert "0 extracted" in err
    assert figures["split"]["sample"]["leaks"] is False and 0 <= figures["counting"]["obo"] <= 1
    assert 0 <= figures["baseline"]["hamming_loss"] <= 1 and figures["poses"]["detection_rate"] > 0.5
    for n, meta in before.items():  # nothing was rewritten
        assert (store.open_dataset(n).path / "dataset.json").read_bytes() == meta
    assert (home / "runs" / "demo-vcoach-sample-alex" / "best.pt").stat().st_mtime_ns == best


def test_demo_needs_three_people():
    code, out, err = run_cli("demo", "--subjects", "2")
    assert code != 0 and "at least 3" in err
