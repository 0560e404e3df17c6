"""Tests of the synthetic sample corpus generator (gymdata.sample).

Two generated corpora are shared by the tests of this module: a small one in the default
fault rate (layout, labels, determinism) and a "learn" one with more repetitions and a higher
fault rate, rendered smaller and at 15 fps to stay fast, on which every criterion must be
separable by one simple landmark feature and a threshold.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from pathlib import Path

import av
import cv2
import numpy as np
import openpyxl
import pytest

from gymdata.layouts import alexgym as alex_layout
from gymdata.sample import CRITERIA, generate_sample

SMALL = {"seed": 0, "subjects": 2, "takes": 1, "reps": (2, 3)}
LEARN = {"seed": 3, "subjects": 3, "takes": 1, "reps": (5, 5), "fault_rate": 0.5, "fps": 15, "size": 96}
SHEETS = {"squat": "squat", "deadlift": "deadlift", "lunge": "lunges"}
FRAME_DIRS = {"squat": "Squat_frames", "deadlift": "Deadlift_Frames", "lunge": "lunges_Frames"}


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under root, keyed by its relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small") / "sample"
    generate_sample(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def learn(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("learn") / "sample"
    generate_sample(out, **LEARN)
    return out


def load_truth(root: Path) -> dict:
    return json.loads((root / "truth.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Determinism and atomic writing
# ---------------------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_other_seed_differs(small, tmp_path):
    again = tmp_path / "again"
    generate_sample(again, **SMALL)
    assert tree_digest(again) == tree_digest(small)

    other = tmp_path / "other"
    generate_sample(other, **(SMALL | {"seed": 1, "exercises": ("squat",)}))
    a, b = tree_digest(small), tree_digest(other)
    assert a["truth.json"] != b["truth.json"]
    assert a["alex-gym-1/squat.xlsx"] != b["alex-gym-1/squat.xlsx"]
    assert a["poses/s01_squat_take1_frontal.npy"] != b["poses/s01_squat_take1_frontal.npy"]


def test_refuses_non_empty_out_dir_unless_overwrite(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = {"subjects": 1, "takes": 1, "reps": (1, 1), "exercises": ("squat",), "fps": 10, "size": 64}
    with pytest.raises(FileExistsError, match="overwrite=True"):
        generate_sample(out, **args)
    assert (out / "keep.txt").read_text() == "mine"
    generate_sample(out, overwrite=True, **args)
    assert not (out / "keep.txt").exists() and (out / "truth.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]  # nothing left beside it

    empty = tmp_path / "empty"
    empty.mkdir()
    generate_sample(empty, **args)
    assert (empty / "truth.json").is_file()


def test_failure_leaves_no_temporary_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(alex_layout, "write_sheet", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_sample(tmp_path / "out", subjects=1, takes=1, reps=(1, 1), exercises=("squat",), fps=10, size=64)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [{"reps": (2, 6)}, {"reps": (0, 2)}, {"size": 101}, {"fault_rate": 1.5},
                                 {"exercises": ("squat", "pushup")}, {"subjects": 0}])
def test_rejects_bad_arguments(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_sample(tmp_path / "x", **bad)
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------

EXPECTED_COLUMNS = {
    "squat": ["Num Video Frontal", "Num Video Lateral", "NumIdx", "Action", "Feet Out 30 F",
              "Score: Frontal( - / 1)", "Whole Feet Flat On the Floor (1) L",
              "Bend Hips and Knees Simultaniously (1) L", "Hips backwards (1) L", "Lower back neural (1) L",
              "Hips are lower than knees level (1 point) L", "Score: Lateral ( - / 5)", "Total Score - /6",
              "class", "rating"],
    "deadlift": ["Num Video Frontal", "Num Video Lateral", "NumIdx", "Action", "Balance (0.5 point) F",
                 "Score: Frontal( - / 0.5)", "Straight back (0.5) L", "Full back leg extended (0.5 point) L",
                 "Slow reverse movement (0.5 point) L", "Support knee bend 15-20°\u00a0(0.5\u00a0point) L",
                 "Score: Lateral ( - / 2)", "Total Score - /2.5", "class", "rating"],
    "lunge": ["Num Video Frontal", "Num Video Lateral", "NumIdx", "Action",
              "Heels shoulder width apart (0.5 point) F", "Head looking forward (0.5 point)F",
              "Swinging arms (0.5 point) F",
              "Front foot is parallel with the back foot, not on one line with the back foot (0.5 point) F",
              "Score: Frontal( - / 2)", "Bend knees slowly 90° (0.5 point) L", "Straight back (0.5 point) L",
              "Back knee is just above the floor (0.5 point) L", "Score: Lateral ( - / 1.5)",
              "Total Score - /3.5", "class", "rating"],
}


def read_sheet(path: Path) -> tuple[list[str], list[tuple]]:
    wb = openpyxl.load_workbook(path)
    assert len(wb.worksheets) == 1
    rows = list(wb.active.iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


def test_alex_sheets_json_and_frames(small):
    alex = small / "alex-gym-1"
    truth = load_truth(small)
    for ex, name in SHEETS.items():
        header, rows = read_sheet(alex / f"{name}.xlsx")
        assert header == EXPECTED_COLUMNS[ex]
        takes = [t for t in truth["takes"] if t["exercise"] == ex]
        assert len(rows) == sum(len(t["reps"]) for t in takes)
        col = {c: i for i, c in enumerate(header)}
        by_video = {t["alex"]["num_video_frontal"]: t for t in takes}
        for view, prefix in (("frontal", "front"), ("lateral", "lat")):
            arr = np.array(json.loads((alex / f"{prefix}_pose_{name}.json").read_text()))
            assert arr.shape == (len(rows), 16, 33, 3)
            # Row by row, the entry is the take's landmarks at the rep's 16 frames (or a zero frame).
            for row, entry in zip(rows, arr, strict=True):
                take = by_video[row[col["Num Video Frontal"]]]
                frames = take["reps"][row[col["NumIdx"]]]["alex_frames"]
                expected = np.load(small / take["poses"][view])[frames, :, :3]
                detected = np.abs(entry).sum(axis=(1, 2)) > 0
                np.testing.assert_allclose(entry[detected], expected[detected], atol=1e-4)
        for row in rows:
            assert row[col["NumIdx"]] in range(5)
            for view in ("Frontal", "Lateral"):
                video = row[col[f"Num Video {view}"]]
                assert video % 2 == (1 if view == "Frontal" else 0)
                for i in range(1, 17):
                    jpg = alex / FRAME_DIRS[ex] / f"{video}_idx_{row[col['NumIdx']]}_{i}.jpg"
                    assert jpg.is_file(), jpg
        jpgs = list((alex / FRAME_DIRS[ex]).glob("*.jpg"))
        assert len(jpgs) == len(rows) * 2 * 16
    img = cv2.imread(str(next((alex / "Squat_frames").glob("*.jpg"))))
    assert img.shape == (224, 224, 3)
    with open(alex / "subjects.csv", newline="") as fh:
        recs = list(csv.reader(fh))
    assert recs[0] == ["Num Video Frontal", "Num Video Lateral", "subject"]
    assert len(recs) - 1 == len(truth["takes"])


def test_detector_failures_are_zero_frames(small):
    alex = small / "alex-gym-1"
    zeros: dict[str, list[bool]] = {"front": [], "lat": []}
    for name in SHEETS.values():
        for prefix, flags in zeros.items():
            arr = np.array(json.loads((alex / f"{prefix}_pose_{name}.json").read_text()))
            flags.extend((np.abs(arr.reshape(-1, 33 * 3)).sum(axis=1) == 0).tolist())
    assert 0 < np.mean(zeros["front"]) < 0.08
    assert 0 < np.mean(zeros["lat"]) < 0.12


def test_videos_and_csvs(small):
    videos = small / "videos"
    truth = load_truth(small)
    with open(videos / "exercise_scores.csv", newline="") as fh:
        scores = list(csv.reader(fh))
    assert scores[0] == ["relative_path", "exercise_type", "score"]
    assert len(scores) - 1 == 2 * len(truth["takes"])
    by_path = {}
    for take in truth["takes"]:
        for view in ("frontal", "lateral"):
            by_path[take["videos"][view].removeprefix("videos/")] = (take, view)
    for rel, ex, score in scores[1:]:
        take, view = by_path[rel]
        assert ex == take["exercise"] and ex in ("squat", "deadlift", "lunge")
        assert float(score) == take["score"] and 0 <= float(score) <= 100
        assert rel == f"{ex}/{take['subject']}_take{take['take']}_{view}.mp4"
        with av.open(str(videos / rel)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.average_rate == take["fps"] == 30
            frames = list(container.decode(video=0))
        assert len(frames) == take["n_frames"]
        assert (frames[0].width, frames[0].height) == (224, 224)
        assert frames[0].format.name == "yuv420p"
        # The ALEX JPEG of a rep's middle frame is that very video frame (up to compression).
        rep = take["reps"][0]
        num = take["alex"][f"num_video_{view}"]
        jpg = cv2.imread(str(small / "alex-gym-1" / FRAME_DIRS[ex] / f"{num}_idx_0_8.jpg")).astype(int)
        same = frames[rep["alex_frames"][7]].to_ndarray(format="bgr24").astype(int)
        other = frames[rep["frames"][0]].to_ndarray(format="bgr24").astype(int)
        assert np.abs(jpg - same).mean() < 3 < np.abs(jpg - other).mean()

    with open(videos / "subjects.csv", newline="") as fh:
        subs = list(csv.reader(fh))
    assert subs[0] == ["relative_path", "subject", "view", "recording"]
    for rel, subject, view, recording in subs[1:]:
        take, v = by_path[rel]
        assert (subject, view, recording) == (take["subject"], v, take["take_id"])

    with open(videos / "repcount.csv", newline="") as fh:
        rc = list(csv.reader(fh))
    width = len(rc[0]) - 4
    assert rc[0][:4] == ["", "type", "name", "count"]
    assert rc[0][4:] == [f"L{i + 1}" for i in range(width)]
    assert width == 2 * max(len(t["reps"]) for t in truth["takes"])
    for i, row in enumerate(rc[1:]):
        assert len(row) == len(rc[0]) and row[0] == str(i)
        take, _ = by_path[row[2]]
        assert row[1] == take["exercise"] and int(row[3]) == len(take["reps"])
        bounds = [int(v) for v in row[4:] if v != ""]
        assert bounds == [b for r in take["reps"] for b in r["frames"]]


def test_pose_arrays(small):
    truth = load_truth(small)
    for take in truth["takes"]:
        for view in ("frontal", "lateral"):
            arr = np.load(small / take["poses"][view])
            assert arr.dtype == np.float32 and arr.shape == (take["n_frames"], 33, 4)
            xy, vis = arr[..., :2], arr[..., 3]
            assert (xy > 0).all() and (xy < 1).all()
            assert (vis >= 0).all() and (vis <= 1).all()
        lat = np.load(small / take["poses"]["lateral"])[..., 3]
        # The lateral camera sees the subject's left side: the right (even) side is less visible.
        assert lat[:, 24:33:2].mean() < lat[:, 23:33:2].mean() - 0.3


# ---------------------------------------------------------------------------------------------
# Labels consistent by construction
# ---------------------------------------------------------------------------------------------

def test_sheets_match_truth(small):
    truth = load_truth(small)
    for ex, name in SHEETS.items():
        header, rows = read_sheet(small / "alex-gym-1" / f"{name}.xlsx")
        col = {c: i for i, c in enumerate(header)}
        takes = {t["alex"]["num_video_frontal"]: t for t in truth["takes"] if t["exercise"] == ex}
        crit = CRITERIA[ex]
        for row in rows:
            take = takes[row[col["Num Video Frontal"]]]
            assert row[col["Num Video Lateral"]] == take["alex"]["num_video_lateral"]
            rep = take["reps"][row[col["NumIdx"]]]
            assert row[col["Action"]] == {"squat": "Squat", "deadlift": "Deadlift", "lunge": "lunges"}[ex]
            assert row[col["class"]] == {"squat": 1, "deadlift": 0, "lunge": 2}[ex]
            for c in crit:
                assert row[col[c.name]] == rep["points"][c.name] == (c.points if rep["criteria"][c.name] else 0)
                assert (c.name in rep["faults"]) == (not rep["criteria"][c.name])
            front = sum(rep["points"][c.name] for c in crit if c.view == "F")
            lat = sum(rep["points"][c.name] for c in crit if c.view == "L")
            assert row[header.index(next(h for h in header if h.startswith("Score: Frontal")))] == front
            assert row[header.index(next(h for h in header if h.startswith("Score: Lateral")))] == lat
            assert row[header.index(next(h for h in header if h.startswith("Total Score")))] == front + lat
            expected = (front + lat) / sum(c.points for c in crit) * 100
            assert rep["score"] == pytest.approx(expected)
            assert row[col["rating"]] == round(expected)
        for take in takes.values():
            assert take["score"] == round(np.mean([r["score"] for r in take["reps"]]), 1)


def test_reps_and_activity_runs(small):
    truth = load_truth(small)
    for take in truth["takes"]:
        n = take["n_frames"]
        runs = take["ar_runs"]
        assert runs[0][0] == 0 and runs[-1][1] == n - 1
        for (_, e0, _), (s1, _, _) in itertools.pairwise(runs):
            assert s1 == e0 + 1
        assert all(s <= e and lab in ("A", "R") for s, e, lab in runs)
        active = [[s, e] for s, e, lab in runs if lab == "A"]
        assert active == [r["frames"] for r in take["reps"]]
        assert runs[0][2] == "R" and runs[-1][2] == "R"  # rests before the first and after the last rep
        for r in take["reps"]:
            s, e = r["frames"]
            assert 0 < s < e < n - 1
            assert r["alex_frames"] == np.linspace(s, e, 16).round().astype(int).tolist()
        assert 1 <= len(take["reps"]) <= 5


# ---------------------------------------------------------------------------------------------
# Learnability: one simple landmark feature per criterion separates faulty from clean reps
# ---------------------------------------------------------------------------------------------

def angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at b (degrees) of the 2D triangle a-b-c, for arrays (..., 2)."""
    u, v = a - b, c - b
    cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def lean(lm: np.ndarray) -> np.ndarray:
    """Trunk lean from vertical (degrees) of the hip-mid -> shoulder-mid chord, per frame."""
    d = (lm[:, 11, :2] + lm[:, 12, :2]) / 2 - (lm[:, 23, :2] + lm[:, 24, :2]) / 2
    return np.degrees(np.arctan2(np.abs(d[:, 0]), -d[:, 1]))


def mid(lm: np.ndarray, i: int, j: int) -> np.ndarray:
    return (lm[:, i, :2] + lm[:, j, :2]) / 2


def rep_features(ex: str, front: np.ndarray, lat: np.ndarray) -> dict[str, float]:
    """One scalar per criterion, oriented so that larger means "more faulty"."""
    body = float(mid(lat, 29, 30)[0, 1] - lat[0, 0, 1])  # heel-to-nose height when the rep starts
    hip_y = mid(lat, 23, 24)[:, 1]

    def flex(lm: np.ndarray, side: int) -> np.ndarray:  # knee flexion, side 0 = left
        return 180 - angle(lm[:, 23 + side, :2], lm[:, 25 + side, :2], lm[:, 27 + side, :2])

    # Forward bend (degrees) of the shoulder -> ear line against the hip -> shoulder chord: rounding
    # curls the upper back and drops the head (the subject faces image-left in the lateral view).
    chord, neck_line = mid(lat, 11, 12) - mid(lat, 23, 24), lat[:, 7, :2] - mid(lat, 11, 12)
    neck = np.degrees(np.arctan2(-(chord[:, 0] * neck_line[:, 1] - chord[:, 1] * neck_line[:, 0]),
                                 (chord * neck_line).sum(-1)))
    if ex == "squat":
        b = int(np.argmax(hip_y))
        # Knees-first: during the descent the knees' forward travel runs ahead of the trunk's lean.
        def progress(x: np.ndarray) -> np.ndarray:
            return (x[: b + 1] - x[0]) / (x[b] - x[0])

        knee_ahead = progress(lat[:, 27, 0] - lat[:, 25, 0]) - progress(lean(lat))
        toe_out = (front[b, 31, 0] - front[b, 29, 0]) + (front[b, 30, 0] - front[b, 32, 0])
        return {
            "feet_out": -toe_out / body,
            "feet_flat": float(mid(lat, 31, 32)[b, 1] - mid(lat, 29, 30)[b, 1]) / body,
            "simultaneous": float(knee_ahead.max()),
            "hips_back": -float(mid(lat, 23, 24)[b, 0] - mid(lat, 27, 28)[b, 0]) / body,
            "neutral_back": float(neck[b]),
            "depth": -float(hip_y[b] - mid(lat, 25, 26)[b, 1]) / body,
        }
    if ex == "deadlift":
        trunk = lean(lat)
        b = int(np.argmax(trunk))
        free = 0 if lat[b, 27, 1] < lat[b, 28, 1] else 1  # the free foot is off the floor
        top = trunk.max()
        down = int(np.argmax(trunk >= 0.9 * top)) - int(np.argmax(trunk >= 0.1 * top))
        last = len(trunk) - 1 - int(np.argmax(trunk[::-1] >= 0.9 * top))
        up = (len(trunk) - 1 - int(np.argmax(trunk[::-1] >= 0.1 * top))) - last
        hips_x = mid(front, 23, 24)[:, 0]
        return {
            "balance": float(np.std(hips_x - np.median(hips_x))) / body,
            "straight_back": float(neck[b]),
            "back_leg": float(flex(lat, free)[b]),
            "slow_reverse": -up / max(down, 1),
            "support_knee": abs(float(flex(lat, 1 - free)[b]) - 17.5),
        }
    b = int(np.argmax(hip_y))
    lead = 0 if lat[b, 27, 0] < lat[b, 28, 0] else 1  # the front foot is further forward (image left)
    drop = (hip_y[: b + 1] - hip_y[0]) / (hip_y[b] - hip_y[0])
    # Descent speed as a duration, so shallow reps count the same: 60% -> 90% of the drop.

    def crossing(level: float) -> float:  # first (sub-)frame where the drop reaches level
        return float(np.interp(level, np.maximum.accumulate(drop), np.arange(b + 1)))

    stance = abs(float(front[0, 29, 0] - front[0, 30, 0]))
    shoulders = abs(float(front[0, 11, 0] - front[0, 12, 0]))
    wrist_z = np.concatenate([front[:, 15, 2] - front[:, 11, 2], front[:, 16, 2] - front[:, 12, 2]])
    return {
        "heels_width": -stance / shoulders,
        "head_forward": float(front[b, 0, 1] - mid(front, 7, 8)[b, 1]) / shoulders,
        "slow_descent": -(crossing(0.9) - crossing(0.6)) / len(hip_y),
        "no_arm_swing": float(np.ptp(wrist_z)) / body,
        "feet_parallel": -abs(float(front[b, 27 + lead, 0] - front[b, 28 - lead, 0])) / max(stance, 1e-6),
        "straight_back": float(lean(lat)[b]),
        # Back knee above the back foot's toe (both on the same side: no perspective bias).
        "back_knee_low": float(lat[b, 32 - lead, 1] - lat[b, 26 - lead, 1]) / body,
    }


def best_threshold_accuracy(values: np.ndarray, faulty: np.ndarray) -> float:
    """Accuracy of the best rule "faulty iff value > t" (larger values mean more faulty)."""
    best = 0.0
    for t in np.concatenate([[-np.inf], np.sort(values)]):
        best = max(best, float(((values > t) == faulty).mean()))
    return best


def collect(root: Path) -> dict[str, dict[str, tuple[list[float], list[bool]]]]:
    truth = load_truth(root)
    out: dict[str, dict[str, tuple[list[float], list[bool]]]] = {}
    for take in truth["takes"]:
        ex = take["exercise"]
        front = np.load(root / take["poses"]["frontal"])
        lat = np.load(root / take["poses"]["lateral"])
        for rep in take["reps"]:
            s, e = rep["frames"]
            feats = rep_features(ex, front[s:e + 1], lat[s:e + 1])
            for c in CRITERIA[ex]:
                vals, labels = out.setdefault(ex, {}).setdefault(c.key, ([], []))
                vals.append(feats[c.key])
                labels.append(c.key in rep["fault_keys"])
    return out


def test_every_criterion_is_learnable_from_landmarks(learn):
    report = {}
    for ex, per_key in collect(learn).items():
        for key, (vals, labels) in per_key.items():
            labels_arr = np.array(labels)
            assert 0 < labels_arr.sum() < len(labels_arr), f"{ex}/{key}: needs both classes"
            report[f"{ex}/{key}"] = best_threshold_accuracy(np.array(vals), labels_arr)
    weak = {k: v for k, v in report.items() if v <= 0.9}
    assert not weak, f"criteria not separable by their feature: {weak} (all: {report})"
