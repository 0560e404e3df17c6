"""The pose-counting importer (PoseRAC layout: Countix-Fitness-pose, RepCount-pose, UCFRep-pose)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gymdata import store
from tests.conftest import run_cli
from tests.fakes.pose_counting import write_pose_counting
from tests.importer_base import ImporterContract


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _sub(path: Path, pattern: str, new: str) -> None:
    import re

    text, n = re.subn(pattern, new, path.read_text(), count=1)
    assert n == 1
    path.write_text(text)


class TestPoseCounting(ImporterContract):
    importer = "pose-counting"
    corpus = "pose-counting"

    def make_corpus(self, root):
        info = write_pose_counting(root)
        frames = sum(len(np.load(root / "test_poses" / f"{vid.split('/')[1]}.npy")) for vid in info["sequences"])
        return {"videos": len(info["sequences"]) + info["train_clips"], "poses": frames + info["salient_frames"],
                "segments": info["salient_frames"]}

    def bad_inputs(self):
        return {
            "truncated pose array": (lambda r: _truncate(r / "test_poses" / "squat1.npy"),
                                     r"squat1\.npy: cannot read pose array .*truncated or damaged"),
            "array that is not frames x 99": (
                lambda r: np.save(r / "test_poses" / "squat1.npy", np.zeros((10, 98), np.float32)),
                r"squat1\.npy: pose array has shape \(10, 98\), expected frames x 99"),
            "salient row with an empty value": (
                lambda r: _replace(r / "annotation_pose" / "train.csv", ",squat,", ",squat,,"),
                r"train\.csv: line 1: expected .* 99 numbers, got 100 values"),
            "salient row with a value missing": (
                lambda r: _replace(r / "annotation_pose" / "train.csv", ",squat,", ",squat,\n"),
                r"train\.csv: line 1: expected .* 99 numbers, got 0 values"),
            "salient value that is not a number": (
                lambda r: _sub(r / "annotation_pose" / "train.csv", r",squat,[^,]+,", ",squat,abc,"),
                r"train\.csv: line 1: a landmark value is not a number"),
            "count that is not a number": (
                lambda r: _replace(r / "annotation" / "test.csv", "squat1.mp4,3,", "squat1.mp4,three,"),
                r"test\.csv: line 2: count 'three' is not a number"),
        }


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "Countix"
    return root, write_pose_counting(root)


def test_sequences_counts_and_salient_states(corpus, isolated_store):
    root, info = corpus
    code, out, err = run_cli("import", "pose-counting", str(root), "--name", "cx")
    assert code == 0, err
    assert "2 count row(s) without a pose array skipped (test/bench_pressing1, test/bench_pressing2)" in err
    ds = store.open_dataset("cx")
    videos = ds.df("videos").set_index("video_id")
    test = videos[videos["split"] == "test"]
    assert {v: json.loads(e)["rep_count"] for v, e in test["extras"].items()} == info["sequences"]
    assert set(test["media_kind"]) == {"poses"} and set(test["exercise"]) == {"squat", "pushup"}
    assert test.loc["test/push_up1", "path"] == "test_poses/push_up1.npy"
    assert (test["fps"] == 30).all() and json.loads(test["extras"].iloc[0])["fps_nominal"] is True
    # the poses come back as stored, missing frames as not detected
    from gymdata.features import load_pose_sequences

    lm = load_pose_sequences(ds, ["test/squat2"])["test/squat2"]
    raw = np.load(root / "test_poses" / "squat2.npy").reshape(-1, 33, 3)
    assert np.array_equal(lm[..., :3], raw)
    det = ds.df("poses", filter={"video_id": "test/squat2"})["detected"]
    assert (~det).sum() == 5
    # training clips: salient frames as one-frame A/R states, normalised like the test arrays
    train = videos[videos["split"] == "train"]
    assert len(train) == info["train_clips"]
    extras = json.loads(train.loc["train/squat/squat001", "extras"])
    assert extras["sequence"] is False and extras["salient_frames"][:2] == [5, 25]
    assert extras["salient_images"][:2] == ["salient1/0", "salient2/0"]  # image number, salient1 first
    seg = ds.df("segments")
    assert set(seg["kind"]) == {"state"} and (seg["start_frame"] == seg["end_frame"]).all()
    assert seg["label"].value_counts().to_dict() == {"R": info["salient_frames"] // 2, "A": info["salient_frames"] // 2}
    tl = load_pose_sequences(ds, ["train/squat/squat001"])["train/squat/squat001"][..., :3]
    assert tl.min() == 0 and tl.max() == 1 and np.allclose(tl.max(axis=1), 1)


def test_empty_pose_array_is_reported_and_skipped(corpus, isolated_store):
    root, info = corpus
    np.save(root / "test_poses" / "push_up2.npy", np.zeros((0,), np.float32))  # as in the public release
    code, out, err = run_cli("import", "pose-counting", str(root), "--name", "cx")
    assert code == 0, err
    assert "push_up2.npy: empty pose array (shape (0,)), skipped" in err
    ids = set(store.open_dataset("cx").df("videos")["video_id"])
    assert "test/push_up2" not in ids and "test/push_up1" in ids


def test_count_row_without_poses_only(tmp_path, isolated_store):
    root = tmp_path / "c"
    write_pose_counting(root)
    for f in (root / "test_poses").glob("*.npy"):
        f.unlink()
    (root / "annotation_pose" / "train.csv").unlink()
    code, _out, err = run_cli("import", "pose-counting", str(root), "--name", "cx")
    assert code == 2 and "no pose sequence and no salient frame to import" in err
    assert not store.exists("cx")


def test_gymdata_pose_skips_pose_only_clips(corpus, isolated_store):
    root, _ = corpus
    assert run_cli("import", "pose-counting", str(root), "--name", "cx")[0] == 0
    code, out, err = run_cli("pose", "cx")
    assert code == 0, err
    assert "0 clip(s)" in out


@pytest.mark.realdata
def test_countix_copy_imports(realdata, isolated_store):
    code, out, err = run_cli("import", "pose-counting", str(realdata / "Countix-Fitness"), "--name", "countix")
    assert code == 0, err
    ds = store.open_dataset("countix")
    videos = ds.df("videos")
    test = videos[videos["split"] == "test"]
    assert test["exercise"].value_counts().to_dict() == {"lunge": 20, "pushup": 19, "squat": 19}
    train = videos[videos["split"] == "train"]
    assert set(train["exercise"]) == {"bench_press", "front_raise", "lunge", "pullup", "pushup", "rope_pushdown",
                                      "situp", "squat"}
    assert ds.count("segments") == 3812
    assert "107 count row(s) without a pose array skipped" in err
