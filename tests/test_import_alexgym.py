"""The ALEX-GYM-1 importer on a fake corpus: the contract, criteria, scores, poses, layout variants."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gymdata import store
from gymdata.media import list_frame_files
from importers.alexgym import import_alexgym
from tests.conftest import run_cli
from tests.fakes.alexgym import EXERCISES, NBSP, write_alexgym
from tests.importer_base import ImporterContract


def _drop_column(xlsx: Path, column: str) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(xlsx)
    ws = wb.active
    index = next(c.column for c in ws[1] if c.value == column)
    ws.delete_cols(index)
    wb.save(xlsx)


def _set_cell(xlsx: Path, column: str, row: int, value) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(xlsx)
    ws = wb.active
    index = next(c.column for c in ws[1] if c.value == column)
    ws.cell(row=row, column=index, value=value)
    wb.save(xlsx)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _drop_last_entry(path: Path) -> None:
    entries = json.loads(path.read_text())
    path.write_text(json.dumps(entries[:-1]))


class TestAlexGym(ImporterContract):
    importer = corpus = "alex-gym-1"

    def make_corpus(self, root):
        return write_alexgym(root)

    def bad_inputs(self):
        return {
            "truncated pose JSON": (lambda r: _truncate(r / "front_pose_squat.json"),
                                    r"front_pose_squat\.json: not valid JSON \(.* at line 1, column \d+\)"),
            "missing frame": (lambda r: (r / "Squat_frames" / "3_idx_1_7.jpg").unlink(),
                              r"Squat_frames/3_idx_1_7\.jpg: frame file missing"),
            "spreadsheet missing a column": (lambda r: _drop_column(r / "deadlift.xlsx", "NumIdx"),
                                             r"deadlift\.xlsx: column 'NumIdx' is missing"),
            "rows and pose entries do not line up": (
                lambda r: _drop_last_entry(r / "lat_pose_lunges.json"),
                r"lunges\.xlsx has 4 rows but lat_pose_lunges\.json has 3 entries"),
            "missing pose file": (lambda r: (r / "lat_pose_deadlift.json").unlink(), "pose file not found"),
            "missing frame folder": (lambda r: (r / "lunges_Frames").rename(r / "lunges_pictures"),
                                     "frame folder not found"),
            "score outside its scale": (lambda r: _set_cell(r / "squat.xlsx", "Score: Lateral ( - / 5)", 2, 7),
                                        r"row 2: 'Score: Lateral \( - / 5\)' is 7, outside 0-5"),
            "video number not a number": (lambda r: _set_cell(r / "squat.xlsx", "Num Video Lateral", 3, "two"),
                                          r"row 3: 'Num Video Lateral' is 'two', not a whole number"),
        }


@pytest.fixture
def alex(tmp_path):
    root = tmp_path / "alex"
    return root, write_alexgym(root)


def test_criteria_are_discovered_with_their_view_and_name_as_written(alex):
    root, _ = alex
    import_alexgym(root, "a")
    ds = store.open_dataset("a")
    crit = ds.df("criteria")
    for ex in EXERCISES.values():
        for column, (view, _points) in ex.criteria.items():
            rows = crit[crit["criterion"] == column.strip()]
            assert len(rows) == 4, column  # 2 recordings x 2 repetitions
            assert set(rows["view"]) == {view}
            assert all(vid.endswith(f"/{view}") for vid in rows["video_id"])
    assert f"Support knee bend 15-20°{NBSP}(0.5 point){NBSP}L" in set(crit["criterion"])  # kept as written
    assert "Head looking forward (0.5 point)F" in set(crit["criterion"])
    assert ((crit["value"] >= 0.5) == crit["passed"]).all()
    assert not set(crit["criterion"]) & {"Num Video Frontal", "Num Video Lateral", "class", "rating"}


def test_scores_scales_and_the_total_on_both_views(alex):
    root, _ = alex
    import_alexgym(root, "a")
    scores = store.open_dataset("a").df("scores")
    squat = scores[scores["video_id"].str.startswith("squat/")]
    assert dict(squat.groupby("name")["scale_max"].first()) == {"frontal": 1.0, "lateral": 5.0, "total": 6.0}
    total = squat[squat["name"] == "total"]
    assert set(total["video_id"].str.rsplit("/", n=1).str[1]) == {"frontal", "lateral"}
    assert dict(scores[scores["video_id"].str.startswith("deadlift/")].groupby("name")["scale_max"].first()) == {
        "frontal": 0.5, "lateral": 2.0, "total": 2.5}


def test_clips_recordings_subjects_and_frames(alex):
    root, expected = alex
    import_alexgym(root, "a")
    df = store.open_dataset("a").df("videos").set_index("video_id")
    assert len(df) == expected["videos"]
    front, lat = df.loc["squat/1_idx_1/frontal"], df.loc["squat/2_idx_1/lateral"]
    assert (front["recording"], front["rep_index"], front["view"], front["subject"]) == ("squat/1-2", 1, "frontal",
                                                                                          "P01")
    assert lat["recording"] == "squat/1-2" and lat["view"] == "lateral"
    assert front["path"] == "Squat_frames/1_idx_1_*.jpg" and front["media_kind"] == "frames"
    assert (front["num_frames"], front["fps"], front["width"], front["height"]) == (16, 30.0, 48, 64)
    assert (lat["width"], lat["height"]) == (64, 48)
    extras = json.loads(front["extras"])
    assert extras["pair"] == "squat/2_idx_1/lateral" and extras["fps_assumed"] is True
    assert (extras["class"], extras["Action"]) == (1, "Squat") and "rating" in extras
    assert df.loc["lunges/9_idx_0/frontal", "exercise"] == "lunge"
    assert df.loc["lunges/9_idx_0/frontal", "exercise_raw"] == "lunges"
    files = list_frame_files(root / "Squat_frames", "1_idx_1_*.jpg")
    assert [f.name for f in files] == [f"1_idx_1_{i}.jpg" for i in range(1, 17)]


def test_poses_keep_the_json_values_and_flag_zero_frames(alex):
    root, expected = alex
    import_alexgym(root, "a")
    poses = store.open_dataset("a").df("poses")
    assert len(poses) == expected["poses"] and (poses["layout"] == "blazepose33").all()
    assert (poses["source"] == "corpus").all() and poses["world"].isna().all()
    assert int((~poses["detected"]).sum()) == expected["undetected"] > 0
    entry = np.asarray(json.loads((root / "lat_pose_squat.json").read_text())[1], dtype=np.float32)
    clip = poses[poses["video_id"] == "squat/2_idx_1/lateral"].sort_values("frame")
    lm = np.stack(clip["landmarks"].to_numpy()).reshape(16, 33, 4)
    np.testing.assert_array_equal(lm[..., :3], entry)
    assert np.isnan(lm[..., 3]).all()
    zero = poses[~poses["detected"]].iloc[0]
    assert not np.any(np.asarray(zero["landmarks"]).reshape(33, 4)[:, :3])


def test_other_folder_spellings_and_no_subjects_file(tmp_path):
    root = tmp_path / "alex"
    write_alexgym(root, exercises=("squat",), subjects=False)
    (root / "Squat_frames").rename(root / "squat_Frames")
    import_alexgym(root, "a")
    df = store.open_dataset("a").df("videos")
    assert df["path"].str.startswith("squat_Frames/").all() and df["subject"].isna().all()
    code, _out, err = run_cli("validate", "a")
    assert code == 0, err


def test_two_frame_folders_for_one_exercise_are_ambiguous(alex):
    root, _ = alex
    (root / "squat_Frames").mkdir()
    code, _out, err = run_cli("import", "alex-gym-1", str(root), "--name", "a")
    assert code == 2 and "several frame folders" in err


def test_sample_corpus_imports_through_the_importer(tmp_path):
    """The ALEX-GYM-1 layout of the synthetic sample (gymdata.sample) is read by the same importer."""
    sample = pytest.importorskip("gymdata.sample")
    out = tmp_path / "sample"
    sample.generate_sample(out, seed=0, subjects=2, takes=1, reps=(1, 2), fps=10, size=64)
    code, text, err = run_cli("import", "alex-gym-1", str(out / "alex-gym-1"), "--name", "s")
    assert code == 0, err
    ds = store.open_dataset("s")
    videos = ds.df("videos")
    assert len(videos) > 0 and set(videos["view"]) == {"frontal", "lateral"}
    assert videos["subject"].notna().all()
    assert ds.has("criteria") and ds.has("scores") and ds.has("poses")
    code, _out, err = run_cli("validate", "s")
    assert code == 0, err
