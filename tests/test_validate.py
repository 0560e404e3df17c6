"""``gymdata validate`` catches planted faults, each in its own test, and exits non-zero."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from gymdata import store
from gymdata.validate import check
from tests.conftest import run_cli
from tests.test_store import pose_rows, video_row

STAMP = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def good(tmp_path, make_video):
    """A valid dataset: two real tiny videos, poses and one row in every label table."""
    root = tmp_path / "corpus"
    for i in range(2):
        make_video(root / "squat" / f"v{i}.mp4", frames=12)
    with store.building("good") as ds:
        with ds.transaction() as txn:
            txn.set_source("videos", root=str(root))
            txn.write("videos", [video_row(i, num_frames=12, fps=25.0, duration=12 / 25) for i in range(2)])
            txn.write("poses", pose_rows("v0", 12))
            txn.write("criteria", [{"video_id": "v0", "criterion": "depth", "passed": False, "origin": "human",
                                    "annotator": "ann", "created_at": STAMP}])
            txn.write("scores", [{"video_id": "v0", "name": "quality", "value": 70, "scale_min": 0,
                                  "scale_max": 100, "origin": "imported"}])
            txn.write("segments", [{"video_id": "v1", "kind": "repetition", "label": "rep", "start_frame": 2,
                                    "end_frame": 9, "origin": "imported"}])
            txn.write("penalties", [{"video_id": "v1", "keystep": "AK44", "error_type": "ET001", "points": 2,
                                     "origin": "imported", "start_frame": 1, "end_frame": 3}])
            txn.write("signals", [{"video_id": "v1", "channel": "emg_1", "kind": "emg", "samples": [0.1, 0.2]}])
    return store.open_dataset("good")


def plant(ds, table, rows):
    ds.write(table, rows)
    return check(ds)


def one_problem(problems, text):
    assert len(problems) == 1, problems
    assert text in problems[0], problems


def test_good_dataset_is_valid(good):
    assert check(good) == []
    code, out, _ = run_cli("validate", "good")
    assert code == 0 and "is valid" in out


def test_duplicate_video_id(good):
    one_problem(plant(good, "videos", [video_row(0, num_frames=12, duration=0.48, fps=25.0)] * 2 +
                      [video_row(1, num_frames=12, duration=0.48, fps=25.0)]), "duplicate video_id v0")


@pytest.mark.parametrize("col", ["fps", "num_frames", "width", "height"])
def test_non_positive_media_fields(good, col):
    rows = [video_row(i, num_frames=12, fps=25.0, duration=0.48) for i in range(2)]
    rows[1][col] = 0
    problems = plant(good, "videos", rows)
    assert any(f"videos.{col}: not positive for v1" in p for p in problems), problems


@pytest.mark.parametrize("row,column,value,problem", [
    (0, "duration", 9.0, "videos.duration"),
    (0, "exercise", "yoga", "not in the vocabulary: yoga"),
    (0, "view", "diagonal", "unknown view"),
    (1, "extras", "{not json", "videos.extras"),
])
def test_one_bad_clip_field_is_one_problem(good, row, column, value, problem):
    rows = [video_row(i, num_frames=12, fps=25.0, duration=0.48) for i in range(2)]
    rows[row][column] = value
    one_problem(plant(good, "videos", rows), problem)


def test_missing_media(good):
    (good.resolve("videos", "squat/v1.mp4")).unlink()
    one_problem(check(good), "media not found for v1")
    assert check(good, check_media=False) == []


def test_pose_frame_beyond_clip(good):
    one_problem(plant(good, "poses", pose_rows("v0", 13)), "poses.frame: frame outside the clip for v0")


def test_pose_for_unknown_video(good):
    one_problem(plant(good, "poses", pose_rows("ghost", 2)), "poses: rows for unknown video_id ghost")


def test_pose_wrong_landmark_count(good):
    rows = pose_rows("v0", 2)
    rows[1]["landmarks"] = rows[1]["landmarks"][:99]
    one_problem(plant(good, "poses", rows), "wrong number of values")


def test_pose_visibility_out_of_range(good):
    rows = pose_rows("v0", 2)
    rows[0]["landmarks"][3] = 7.0
    one_problem(plant(good, "poses", rows), "visibility outside [0, 1]")


def test_duplicate_pose_frame(good):
    rows = pose_rows("v0", 2)
    one_problem(plant(good, "poses", rows + rows[:1]), "duplicate (video_id, frame, source)")


def test_label_for_unknown_video(good):
    one_problem(plant(good, "criteria", [{"video_id": "ghost", "criterion": "x", "origin": "human"}]),
                "criteria: rows for unknown video_id ghost")


def test_score_outside_scale(good):
    one_problem(plant(good, "scores", [{"video_id": "v0", "name": "quality", "value": 130, "scale_min": 0,
                                        "scale_max": 100, "origin": "human"}]), "outside its scale")


def test_segment_end_before_start(good):
    one_problem(plant(good, "segments", [{"video_id": "v1", "kind": "state", "label": "A", "start_frame": 8,
                                          "end_frame": 3, "origin": "model"}]), "start_frame after end_frame")


def test_segment_beyond_clip(good):
    one_problem(plant(good, "segments", [{"video_id": "v1", "kind": "state", "label": "A", "start_frame": 3,
                                          "end_frame": 40, "origin": "model"}]), "segments.end_frame")


def test_signal_without_samples(good):
    one_problem(plant(good, "signals", [{"video_id": "v1", "channel": "emg_1", "kind": "emg", "samples": []}]),
                "signals.samples: empty")


def test_row_count_tampered(good):
    meta = json.loads((good.path / "dataset.json").read_text())
    meta["tables"]["videos"]["rows"] = 5
    (good.path / "dataset.json").write_text(json.dumps(meta))
    one_problem(check(good.reload()), "dataset.json says 5 rows")


def test_part_file_deleted(good):
    part = good.path / "tables" / "poses" / good.meta["tables"]["poses"]["parts"][0]
    part.unlink()
    problems = check(good)
    assert any("part file" in p and "missing" in p for p in problems), problems


def test_schema_version_mismatch(good):
    meta = json.loads((good.path / "dataset.json").read_text())
    meta["schema_version"] = "0.1"
    (good.path / "dataset.json").write_text(json.dumps(meta))
    one_problem(check(good.reload()), "schema version")


def test_cli_exits_non_zero_and_lists_every_problem(good):
    rows = [video_row(i, num_frames=12, fps=25.0, duration=0.48) for i in range(2)]
    rows[0]["exercise"], rows[1]["view"] = "yoga", "diagonal"
    good.write("videos", rows)
    code, out, err = run_cli("validate", "good")
    assert code == 1
    assert err.count("FAIL ") == 2 and "error: dataset 'good': 2 problem(s)" in err
    assert np.all(["Traceback" not in err])


def test_null_extras_are_valid(good):
    rows = [video_row(i, num_frames=12, fps=25.0, duration=0.48, extras=None) for i in range(2)]
    assert plant(good, "videos", rows) == []
