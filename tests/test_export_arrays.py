"""The training arrays export and its torch Datasets: frames, poses, labels and states match the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from gymdata.arrays import ClipDataset, FrameStateDataset, PoseSequenceDataset, to_model_input
from gymdata import store
from gymdata.errors import InputError
from gymdata.media import list_frame_files
from gymdata.sample import generate_sample
from gymdata.splits import make_split
from tests.conftest import run_cli

SIZE = 32


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "s"
    generate_sample(out, seed=1, subjects=3, takes=1, reps=(2, 3), size=64, fps=10)
    return out


@pytest.fixture
def alex(sample, tmp_path) -> tuple[store.Dataset, Path]:
    """The sample's ALEX-GYM-1 layout imported, split, exported as arrays."""
    assert run_cli("import", "alex-gym-1", str(sample / "alex-gym-1"), "--name", "a")[0] == 0
    ds = store.open_dataset("a")
    make_split(ds)
    code, _, err = run_cli("export", "a", "--format", "arrays", str(tmp_path / "arr"), "-o", f"size={SIZE}",
                             "-j", "1", "--quiet")
    assert code == 0, err
    return ds, tmp_path / "arr"


def test_clip_dataset_two_views_frames_and_labels_match_the_store(alex):
    ds, export = alex
    meta = json.loads((export / "meta.json").read_text())
    videos = ds.df("videos").set_index("video_id")
    crit = ds.df("criteria")
    assert meta["exercises"] == ["deadlift", "lunge", "squat"]
    # criteria in the spreadsheet's column order, frontal and lateral ones together
    squat_first = crit[crit["video_id"].str.startswith("squat/")]
    assert meta["criteria"]["squat"] == list(dict.fromkeys(squat_first["criterion"]))
    assert meta["score_name"] == "total" and meta["score_scales"]["squat"] == [0.0, 6.0]
    data = ClipDataset(export, views=("frontal", "lateral"))
    assert len(data) == ds.count("videos") // 2  # one item per spreadsheet row
    for i in range(len(data)):
        item = data[i]
        assert item["video"].shape == (2, 16, SIZE, SIZE, 3) and item["video"].dtype == torch.uint8
        rows = data.clips.iloc[data.items[i]]
        assert list(rows["view"]) == ["frontal", "lateral"] and rows["unit"].nunique() == 1
        front = rows["video_id"].iloc[0]
        exercise = videos.at[front, "exercise"]
        assert int(item["exercise"]) == meta["exercises"].index(exercise)
        assert item["subject"] == videos.at[front, "subject"] and item["split"] == videos.at[front, "split"]
        verdicts = crit[crit["video_id"].isin(rows["video_id"])].set_index("criterion")["passed"]
        names = data.criteria(exercise)
        expected = [float(verdicts[n]) for n in names]
        assert item["criteria"][:len(names)].tolist() == expected and bool(item["criteria_mask"][:len(names)].all())
        assert not item["criteria_mask"][len(names):].any()
        total = ds.df("scores", filter={"video_id": front, "name": "total"})
        assert float(item["score"]) == pytest.approx(float(total["value"].iloc[0]))
        assert float(item["score_norm"]) == pytest.approx(float(total["value"].iloc[0] / total["scale_max"].iloc[0]))
    # a frame is the JPEG, resized
    first = data.clips.iloc[data.items[0][0]]
    pattern = ds.resolve("alex-gym-1", videos.at[first["video_id"], "path"])
    files = list_frame_files(pattern.parent, pattern.name)
    rgb = cv2.cvtColor(cv2.imread(str(files[5])), cv2.COLOR_BGR2RGB)
    expected = cv2.resize(rgb, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    assert np.array_equal(data[0]["video"][0, 5].numpy(), expected)


def test_split_filter_single_view_and_loader_batches(alex):
    ds, export = alex
    test_items = ClipDataset(export, views=("lateral",), split="test")
    videos = ds.df("videos")
    assert len(test_items) == int(((videos["split"] == "test") & (videos["view"] == "lateral")).sum())
    assert {test_items[i]["split"] for i in range(len(test_items))} == {"test"}
    loader = DataLoader(ClipDataset(export), batch_size=4, num_workers=2, shuffle=True)
    batch = next(iter(loader))
    assert batch["video"].shape == (4, 2, 16, SIZE, SIZE, 3) and batch["criteria"].shape[0] == 4
    x = to_model_input(batch["video"][:, 0])
    assert x.shape == (4, 3, 16, SIZE, SIZE) and x.dtype == torch.float32 and abs(float(x.mean())) < 3
    with pytest.raises(InputError, match="no items with views"):
        ClipDataset(export, views=("rear",))


def test_pose_sequences_match_the_poses_table(alex):
    ds, export = alex
    data = PoseSequenceDataset(export, views=("frontal", "lateral"))
    poses = ds.df("poses").set_index(["video_id", "frame"])
    for i in (0, len(data) - 1):
        item = data[i]
        assert item["pose"].shape == (2, 16, 33, 4)
        for v, vid in enumerate(data.clips.iloc[data.items[i]]["video_id"]):
            for t in (0, 7, 15):
                lm = np.asarray(poses.at[(vid, t), "landmarks"], np.float32).reshape(33, 4)
                assert np.array_equal(item["pose"][v, t].numpy(), lm, equal_nan=True)
                assert bool(item["valid"][v, t]) == bool(poses.at[(vid, t), "detected"])
    normalised = PoseSequenceDataset(export, views=("lateral",), normalize=True)[0]["pose"]
    assert normalised.shape == (1, 16, 133)


def test_frame_states_from_repetitions_and_poses(sample, tmp_path):
    """Whole takes with RepCount repetitions and per-frame poses: every frame is Active inside a
    repetition and Resting outside."""
    assert run_cli("import", "repcount", str(sample / "videos"), "--name", "r", "--quiet")[0] == 0
    ds = store.open_dataset("r")
    rows = []
    for vid in ds.df("videos")["video_id"]:
        exercise, name = vid.split("/")
        subject, take, view = name.split("_")
        lm = np.load(sample / "poses" / f"{subject}_{exercise}_{take}_{view}.npy")
        rows += [{"video_id": vid, "frame": f, "layout": "blazepose33", "landmarks": lm[f].reshape(-1),
                  "detected": True, "source": "truth"} for f in range(len(lm))]
    ds.append("poses", rows)
    code, _, err = run_cli("export", "r", "--format", "arrays", str(tmp_path / "arr"), "-o", "video=false",
                           "--quiet")
    assert code == 0, err
    frames = FrameStateDataset(tmp_path / "arr")
    landmarks, states, clip_rows = frames.arrays()
    assert len(frames) == len(rows) and landmarks.shape == (len(rows), 33, 4)
    seg = ds.df("segments")
    clips = frames.clips.set_index("row")
    for row in np.unique(clip_rows)[:4]:
        vid = clips.at[row, "video_id"]
        expected = np.zeros(int(clips.at[row, "num_frames"]), np.int8)
        for s, e in zip(seg.loc[seg["video_id"] == vid, "start_frame"], seg.loc[seg["video_id"] == vid, "end_frame"]):
            expected[s:e + 1] = 1
        assert np.array_equal(states[clip_rows == row], expected)
    item = frames[0]
    assert item["landmarks"].shape == (33, 4) and int(item["state"]) in (0, 1)
    assert not (tmp_path / "arr" / "video.npy").exists()
    with pytest.raises(InputError, match="no video.npy"):
        ClipDataset(tmp_path / "arr", views=None)[0]


def test_an_undecodable_clip_is_left_out_not_trained_as_black(alex, tmp_path):
    ds, _ = alex
    videos = ds.df("videos")
    victim = videos["video_id"].iloc[0]
    folder = ds.resolve("alex-gym-1", videos["path"].iloc[0]).parent
    pattern = Path(videos["path"].iloc[0]).name
    broken = tmp_path / "broken"  # a copy of the corpus: the module's sample stays intact
    shutil.copytree(folder.parent, broken)
    for f in (broken / folder.name).glob(pattern):
        f.write_bytes(b"not a jpeg")
    with ds.transaction() as txn:
        txn.set_source("alex-gym-1", root=str(broken))
    code, out, err = run_cli("export", "a", "--format", "arrays", str(tmp_path / "arr2"), "-o", f"size={SIZE}",
                             "-o", "poses=false", "-j", "1", "--quiet")
    assert code == 0 and "failed 1" in out, err
    meta = json.loads((tmp_path / "arr2" / "meta.json").read_text())
    assert meta["clips"] == len(videos) - 1 and victim in meta["decode_failures"][0]
    assert victim not in set(ClipDataset(tmp_path / "arr2", views=None).clips["video_id"])
