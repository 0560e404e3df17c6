"""The training-arrays format (gymdata.arrays): one score normalisation for every reader, the
writer's metadata, and the errors of a folder that is not an export."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gymdata import arrays
from gymdata.errors import InputError


def _export(out, scales):
    """Two single-view clips per exercise, each exercise with its own score scale."""
    rows = []
    for e, (ex, (lo, hi)) in enumerate(scales.items()):
        for k in range(2):
            rows.append({"row": len(rows), "video_id": f"{ex}{k}", "unit": f"{ex}{k}#0", "view": "frontal",
                         "exercise": ex, "exercise_id": e, "subject": f"s{k}", "recording": f"{ex}{k}",
                         "rep_index": 0, "split": "train", "num_frames": 3, "fps": 30.0,
                         "score": lo + (hi - lo) * (0.25 + 0.5 * k), "score_min": lo, "score_max": hi,
                         "criteria": [-1], "frame_indices": [0, 1, 2]})
    clips = pd.DataFrame(rows)
    np.save(out / arrays.VIDEO, np.zeros((len(rows), 3, 8, 8, 3), np.uint8))
    np.save(out / arrays.POSES, np.zeros((len(rows), 3, 33, 4), np.float32))
    return arrays.finish(out, clips, frames=3, size=8, resize="squash", exercises=list(scales),
                         criteria={ex: ["c"] for ex in scales}, score_name="total", views=["frontal"],
                         rows=len(rows), video=True, poses=True, pose_valid=np.ones((len(rows), 3), bool))


def test_scores_are_read_on_each_clips_own_scale_by_every_reader(tmp_path):
    # ALEX-GYM-1's total is out of 6 for one exercise and 2.5 for another: the export-wide scale
    # (0..6) would squeeze the second into 0..0.42
    meta = _export(tmp_path, {"deadlift": (0.0, 2.5), "squat": (0.0, 6.0)})
    assert meta["score_scale"] == [0.0, 6.0]
    assert meta["score_scales"] == {"deadlift": [0.0, 2.5], "squat": [0.0, 6.0]}
    expected = [0.25, 0.75, 0.25, 0.75]
    units = arrays.ExportUnits(tmp_path, split=None, views=None, video=False, pose=True)
    assert np.allclose(units.score, expected)
    clips = arrays.ClipDataset(tmp_path, views=None)
    assert np.allclose([float(clips[i]["score_norm"]) for i in range(len(clips))], expected)
    poses = arrays.PoseSequenceDataset(tmp_path, views=None)
    assert np.allclose([float(poses[i]["score_norm"]) for i in range(len(poses))], expected)


def test_score_norm_without_score_or_scale_is_nan():
    out = arrays.score_norm([3.0, np.nan, 2.0], [0.0, 0.0, 5.0], [6.0, 6.0, 5.0])
    assert out[0] == 0.5 and np.isnan(out[1]) and np.isnan(out[2])


def test_not_an_export_is_one_typed_error(tmp_path):
    with pytest.raises(InputError, match="no meta.json"):
        arrays.read_meta(tmp_path)
    (tmp_path / "meta.json").write_text("{broken")
    with pytest.raises(InputError, match="damaged"):
        arrays.read_meta(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="not gymdata-arrays"):
        arrays.ExportUnits(tmp_path, split=None, views=None)


def test_units_need_every_view(tmp_path):
    _export(tmp_path, {"squat": (0.0, 6.0)})
    with pytest.raises(InputError, match="no items"):
        arrays.ExportUnits(tmp_path, split=None, views=["frontal", "lateral"], video=True)
    assert len(arrays.ExportUnits(tmp_path, split=None, views=["frontal"], video=True)) == 2
