"""The FLEX importer on a fake corpus: the contract, views, skeleton, sEMG, scores, the knowledge graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

from gymdata import store
from gymdata.skeleton import FLEX21_JOINTS, FLEX21_TO_BLAZEPOSE
from gymdata.skeleton import flex21_to_blazepose as to_blazepose
from importers.flex import export_knowledge_graph, import_flex, read_knowledge_graph
from tests.conftest import run_cli
from tests.fakes.flex import write_flex
from tests.importer_base import ImporterContract


def _savemat(path: Path, key: str, rows) -> None:
    scipy.io.savemat(str(path), {key: np.asarray(rows, dtype=float)})


def _widen_line(path: Path, line: int) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] += ",0.1"
    path.write_text("\n".join(lines) + "\n")


def _edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


class TestFlex(ImporterContract):
    importer = corpus = "flex"

    def make_corpus(self, root):
        return write_flex(root)

    def bad_inputs(self):
        emg = Path("EMG/A16/001/EMG.csv")
        return {
            ".mat with the wrong key": (
                lambda r: _savemat(r / "Split_4/split_4_train_list.mat", "train_list", [[16, 1, 80.0]]),
                r"split_4_train_list\.mat: no variable 'consolidated_train_list' \(found: train_list\)"),
            ".mat rows of the wrong shape": (
                lambda r: _savemat(r / "Split_4/split_4_test_list.mat", "consolidated_test_list", [[16, 2]]),
                r"consolidated_test_list has shape \(1, 2\), expected \(samples, 3\)"),
            "EMG file with a wrong column count": (
                lambda r: _widen_line(r / emg, 3),
                r"EMG/A16/001/EMG\.csv: line 3: 5 columns, expected 4"),
            "skeleton with a wrong column count": (
                lambda r: (r / "Skeleton/A03/002/skeleton_points.csv").write_text("a,b,c\n1,2,3\n"),
                r"skeleton_points\.csv: line 2: 3 columns, expected 63"),
            "missing frame": (lambda r: (r / "A03/002/View-4/img_00005.JPG").unlink(),
                              r"A03/002/View-4/img_00005\.JPG: frame file missing"),
            "truncated knowledge graph": (
                lambda r: (r / "knowledge_graph.json").write_text((r / "knowledge_graph.json").read_text()[:500]),
                r"knowledge_graph\.json: not valid JSON"),
            "unknown error type in a penalty": (
                lambda r: _edit_json(r / "knowledge_graph.json",
                                     lambda d: d["annotations"][2]["penalties"][0].update(error_type="ET999")),
                r"\$\.annotations\[2\]\.penalties\[0\]\.error_type: 'ET999' is not an error type of A16"),
            "annotated frame past the clip": (
                lambda r: _edit_json(r / "knowledge_graph.json",
                                     lambda d: d["annotations"][0]["repetitions"][1].update(end_frame=40)),
                r"sample A03/001: annotated frame 40 is past the last frame \(11\)"),
            "score outside 0-100": (
                lambda r: _savemat(r / "Split_4/split_4_test_list.mat", "consolidated_test_list", [[16, 2, 140]]),
                r"consolidated_test_list row 1: score 140 outside 0-100"),
        }


@pytest.fixture
def flex(tmp_path):
    root = tmp_path / "flex"
    return root, write_flex(root)


def test_one_clip_per_view_with_sample_labels_on_each(flex):
    root, expected = flex
    import_flex(root, "f", workers=1, progress=False)
    ds = store.open_dataset("f")
    df = ds.df("videos").set_index("video_id")
    assert len(df) == expected["videos"]
    clip = df.loc["A16/002/View-3"]
    assert (clip["path"], clip["recording"], clip["media_kind"]) == ("A16/002/View-3", "A16/002", "frames")
    assert (clip["exercise"], clip["exercise_raw"], clip["num_frames"], clip["width"], clip["height"]) == (
        "squat", "A16", 12, 40, 30)
    assert pd.isna(clip["view"])
    assert df.loc["A03/001/View-1", "exercise"] == "other"
    extras = json.loads(clip["extras"])
    assert extras == {"action": "A16", "sample": 2, "camera": "View-3", "fps_assumed": True,
                      "sensors_on": "A16/002/View-1", "annotated_frames": [0, 11],
                      "action_name": "barbell back squat"}
    assert (clip["subject"], clip["skill_level"]) == ("S01", "novice")
    assert clip["split"] == "test" and df.loc["A16/001/View-2", "split"] == "train"
    scores = ds.df("scores")
    assert len(scores) == expected["scores"] and (scores["scale_max"] == 100).all()
    assert scores.groupby("video_id").size().eq(1).all()
    truth = {(int(a), int(s)): v for a, s, v in
             scipy.io.loadmat(str(root / "Split_4/split_4_test_list.mat"))["consolidated_test_list"]}
    assert scores.set_index("video_id").loc["A16/002/View-5", "value"] == pytest.approx(truth[(16, 2)])


def test_skeleton_and_emg_are_stored_once_on_the_first_view(flex):
    root, expected = flex
    import_flex(root, "f", workers=1, progress=False, emg_rate=1000.0)
    ds = store.open_dataset("f")
    poses = ds.df("poses")
    assert len(poses) == expected["poses"] and set(poses["video_id"].str.rsplit("/", n=1).str[1]) == {"View-1"}
    assert set(poses["layout"]) == {"flex21"} and set(poses["source"]) == {"mocap"}
    clip = poses[poses["video_id"] == "A16/001/View-1"].sort_values("frame")
    lm = np.stack(clip["landmarks"].to_numpy()).reshape(-1, len(FLEX21_JOINTS), 4)
    csv_rows = np.loadtxt(root / "Skeleton/A16/001/skeleton_points.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(lm[..., :3], csv_rows.reshape(-1, 21, 3), rtol=1e-6)
    assert np.isnan(lm[..., 3]).all()
    signals = ds.df("signals")
    assert len(signals) == expected["signals"]
    one = signals[signals["video_id"] == "A03/002/View-1"].set_index("channel")
    assert list(one.index) == ["emg_1", "emg_2", "emg_3", "emg_4"] and (one["sample_rate"] == 1000).all()
    emg = np.loadtxt(root / "EMG/A03/002/EMG.csv", delimiter=",")
    np.testing.assert_allclose(np.asarray(one.loc["emg_3", "samples"]), emg[:, 2], rtol=1e-6)


def test_emg_rate_is_unknown_unless_given(flex):
    root, _ = flex
    import_flex(root, "f", workers=1, progress=False)
    assert store.open_dataset("f").df("signals")["sample_rate"].isna().all()


def test_blazepose_mapping():
    frames = np.arange(2 * 21 * 3, dtype=np.float32).reshape(2, 21, 3)
    out = to_blazepose(frames)
    assert out.shape == (2, 33, 3)
    np.testing.assert_array_equal(out[:, 11], frames[:, FLEX21_JOINTS.index("left_shoulder")])
    np.testing.assert_array_equal(out[:, 26], frames[:, FLEX21_JOINTS.index("right_knee")])
    assert np.isnan(out[:, 0]).all()  # the nose has no FLEX counterpart
    assert len(set(FLEX21_TO_BLAZEPOSE.values())) == len(FLEX21_TO_BLAZEPOSE)


def test_knowledge_graph_segments_penalties_and_attachment(flex):
    root, expected = flex
    import_flex(root, "f", workers=1, progress=False)
    ds = store.open_dataset("f")
    seg = ds.df("segments")
    assert len(seg) == expected["segments"]
    one = seg[seg["video_id"] == "A16/001/View-2"].sort_values(["start_frame", "kind"])
    assert list(zip(one["kind"], one["label"])) == [("phase", "AK44"), ("repetition", "rep"), ("phase", "AK45"),
                                                    ("phase", "AK44"), ("repetition", "rep"), ("phase", "AK45")]
    pen = ds.df("penalties")
    assert len(pen) == expected["penalties"]
    first = pen[pen["video_id"] == "A16/001/View-1"].iloc[0]
    assert (first["keystep"], first["error_type"], first["points"]) == ("AK44", "ET050", 5.0)
    assert first["feedback"] == "Push your knees out over your toes."
    override = pen[(pen["video_id"] == "A16/002/View-1") & (pen["error_type"] == "ET052")].iloc[0]
    assert override["points"] == 1.5 and override["feedback"] == "Almost: slow down a bit."
    assert pd.isna(override["start_frame"]) and pd.isna(override["keystep"])
    graph = json.loads(ds.attachment("knowledge_graph.json").read_text())
    assert "annotations" not in graph and [a["id"] for a in graph["actions"]] == ["A03", "A16"]


def test_export_then_import_gives_the_same_document_and_tables(flex, tmp_path):
    root, expected = flex
    import_flex(root, "f", workers=1, progress=False)
    out = tmp_path / "exported.json"
    doc = export_knowledge_graph("f", out)
    assert doc == expected["graph"] == json.loads(out.read_text())
    assert read_knowledge_graph(out) == doc
    import_flex(root, "g", knowledge_graph=out, workers=1, progress=False)
    cols = ["video_id", "kind", "label", "start_frame", "end_frame"]
    a, b = store.open_dataset("f"), store.open_dataset("g")
    assert a.df("segments")[cols].equals(b.df("segments")[cols])
    cols = ["video_id", "keystep", "error_type", "points", "feedback", "start_frame", "end_frame"]
    assert a.df("penalties")[cols].equals(b.df("penalties")[cols])


def test_without_graph_and_subjects(tmp_path):
    root = tmp_path / "flex"
    write_flex(root, graph=False, subjects=False, phantom=False)
    code, out, err = run_cli("import", "flex", str(root), "--name", "f", "-j", "2", "--quiet")
    assert code == 0, err
    ds = store.open_dataset("f")
    assert not ds.has("segments") and not ds.has("penalties")
    assert ds.df("videos")["subject"].isna().all() and not ds.attachment("knowledge_graph.json").exists()
    code, _out, err = run_cli("validate", "f")
    assert code == 0, err


def test_samples_listed_but_absent_are_reported(flex):
    root, _ = flex
    code, _out, err = run_cli("import", "flex", str(root), "--name", "f", "-j", "1", "--quiet")
    assert code == 0
    assert "A20/001: listed in split_4_train_list.mat but not on disk" in err
