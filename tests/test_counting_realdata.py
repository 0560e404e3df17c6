"""Repetition counting on real third-party data (``../shared/realdata``; skipped when absent).

* Countix-Fitness test poses (real MediaPipe sequences with true counts): the label-free counter
  reaches OBO >= 0.6 and MAE <= 0.25 on each exercise. Its global parameters were chosen on this
  set, so this is a regression check, not a generalisation claim (see benchmarks/bench_counting.py).
* The labelled videos of ``labels.csv``, end to end (video -> MediaPipe pose -> count): OBO >= 0.8,
  the plank counts 0, the two resolutions of the same squat clip agree, and every held-out row runs
  (its count is withheld, so nothing is compared). To stay within a few minutes on two cores, poses
  are extracted on about 5 frames per second (static image mode) and cached by content in
  ``$GYMDATA_POSE_CACHE`` or else pytest's cache folder, so a rerun reads them back.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from baselines.counting import PeriodicCounter, count_metrics
from baselines.counting_data import count_video

pytestmark = pytest.mark.realdata

#: Frames per second on which poses are extracted in the end-to-end test.
SAMPLE_FPS = 5.0


def test_countix_test_poses_per_exercise(realdata):
    root = realdata / "Countix-Fitness"
    counter = PeriodicCounter()
    by_ex: dict[str, tuple[list[int], list[int]]] = {}
    with open(root / "annotation" / "test.csv", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) > 3 and row[1] in ("squat", "lunge", "push_up"):
                lm = np.load(root / "test_poses" / f"{Path(row[2]).stem}.npy").reshape(-1, 33, 3)
                pred, truth = by_ex.setdefault(row[1], ([], []))
                pred.append(counter.count(lm, 30.0).count)
                truth.append(int(row[3]))
    assert {ex: len(t) for ex, (_, t) in by_ex.items()} == {"push_up": 19, "squat": 19, "lunge": 20}
    for ex, (pred, truth) in by_ex.items():
        m = count_metrics(pred, truth)
        assert m["obo"] >= 0.6 and m["mae"] <= 0.25, (ex, m)


def _count(item: tuple[str, int, str]) -> dict:
    path, frames, cache = item
    return count_video(path, frames=frames, cache_dir=cache)


@pytest.fixture(scope="module")
def pose_cache(request, tmp_path_factory) -> str:
    if os.environ.get("GYMDATA_POSE_CACHE"):
        return os.environ["GYMDATA_POSE_CACHE"]
    cache = getattr(request.config, "cache", None)
    return str(cache.mkdir("gymdata-pose") if cache is not None else tmp_path_factory.mktemp("pose-cache"))


@pytest.mark.slow
def test_labelled_videos_end_to_end(realdata, pose_cache):
    from gymdata.media import probe_video
    from gymdata.runner import run_tasks

    with open(realdata / "labels.csv", newline="") as fh:
        labels = list(csv.DictReader(fh))
    items = []
    for row in labels:
        info = probe_video(realdata / row["path"])
        frames = min(info.num_frames, math.ceil(info.num_frames / info.fps * SAMPLE_FPS))
        items.append((str(realdata / row["path"]), frames, pose_cache))
    results = {}
    for outcome in run_tasks(_count, items, workers=2, progress=False, chunksize=1):
        assert outcome.ok, (outcome.item[0], outcome.error)
        results[outcome.item[0]] = outcome.value
    pred, truth = [], []
    for row in labels:
        res = results[str(realdata / row["path"])]
        assert res["count"] >= 0 and res["count"] == len(res["reps"])
        states = res["states"]
        assert states[0][0] == 0 and states[-1][1] == res["num_frames"] - 1
        if "held out" not in row["notes"] and row["reps"]:
            pred.append(res["count"])
            truth.append(int(row["reps"]))
    m = count_metrics(pred, truth)
    assert m["clips"] == 17 and m["obo"] >= 0.8, m
    by_name = {Path(p).name: r for p, r in results.items()}
    assert by_name["plank_correct_005.mp4"]["count"] == 0
    assert by_name["squats.mp4"]["count"] == by_name["squats2.mp4"]["count"]
    assert sum("held out" in row["notes"] for row in labels) == 8  # each ran above


def test_count_cli_on_a_video_file(realdata, pose_cache):
    path = realdata / "computervision" / "data" / "videos" / "pushup_correct_001.mp4"
    code, out, err = run_cli("count", str(path), "--frames", "20", env={"GYMDATA_POSE_CACHE": pose_cache})
    assert code == 0, err
    assert out.count("\n") == 1 and "pushup_correct_001.mp4: 1 repetition(s) (periodic counter, 20 of" in out
    code, out, err = run_cli("count", str(path), "--frames", "20", "--json", env={"GYMDATA_POSE_CACHE": pose_cache})
    assert code == 0, err
    import json

    res = json.loads(out)
    assert res["count"] == 1 and res["frames_processed"] == 20 and res["counter"] == "periodic"
    (start, end), = res["reps"]
    assert 0 <= start < end < res["num_frames"]
