"""A fake pose-only counting corpus in the PoseRAC layout (Countix-Fitness-pose, RepCount-pose).

Written as the real files are (read from ``../shared/realdata/Countix-Fitness``):

* ``annotation/test.csv``: RepCount header ``,type,name,count,L1,...,L<width>`` with an empty first
  cell, an index column, the count, and every L cell empty (Countix gives counts only); rows for
  exercises whose poses are not shipped (``bench_pressing``) are there too;
* ``test_poses/<stem>.npy``: float32 frames x 99, min-max normalised per frame and axis, all-zero
  rows where no person was found;
* ``annotation_pose/train.csv``: no header; ``train/<exercise>/salient1|salient2/<video>.mp4/<k>.jpg,
  <exercise>,`` then 99 pixel values; the image numbers of salient1 and salient2 overlap, as in the
  real file (``raises022.mp4/2.jpg`` is in both folders);
* ``annotation/pose_train.csv``: ``,type,name,L1,...`` per training video, names without the zero
  padding of ``train.csv`` (``squat1.mp4`` for ``squat001.mp4``).

Poses are a synthetic body: a random rest pose per exercise and an active pose displaced from it;
sequences move rest -> active -> rest once per repetition with short rests between.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXERCISES = ("squat", "push_up")
WIDTH, HEIGHT = 640.0, 480.0


def key_poses(exercise: str) -> tuple[np.ndarray, np.ndarray]:
    """(rest, active) poses (33, 3) of an exercise in image-normalised units."""
    rng = np.random.default_rng(EXERCISES.index(exercise))
    rest = np.column_stack([rng.uniform(0.3, 0.7, 33), np.linspace(0.15, 0.9, 33), rng.uniform(-0.2, 0.2, 33)])
    move = np.zeros((33, 3))
    lower = slice(11, 33)
    move[lower, 1] = rng.uniform(0.1, 0.25, 22) * (1 if exercise == "squat" else -1)
    move[lower, 0] = rng.uniform(-0.1, 0.1, 22)
    return rest, rest + move


def normalise(xyz: np.ndarray) -> np.ndarray:
    """Min-max per frame and axis; all-zero frames stay zero."""
    lo, hi = xyz.min(axis=1, keepdims=True), xyz.max(axis=1, keepdims=True)
    out = (xyz - lo) / np.maximum(hi - lo, 1e-9)
    out[(xyz == 0).all(axis=(1, 2))] = 0
    return out.astype(np.float32)


def sequence(exercise: str, reps: int, *, seed: int = 0, missing: int = 0) -> np.ndarray:
    """A test sequence (T, 99): ``reps`` repetitions of 40-50 frames with 10-20 frame rests,
    ``missing`` all-zero frames in the middle."""
    rng = np.random.default_rng(seed)
    rest, active = key_poses(exercise)
    w = [np.zeros(int(rng.integers(10, 20)))]
    for _ in range(reps):
        n = int(rng.integers(40, 50))
        w += [np.sin(np.linspace(0, np.pi, n)) ** 2, np.zeros(int(rng.integers(10, 20)))]
    w = np.concatenate(w)
    xyz = rest + w[:, None, None] * (active - rest) + rng.normal(0, 0.004, (len(w), 33, 3))
    if missing:
        mid = len(xyz) // 2
        xyz[mid : mid + missing] = 0
    return normalise(xyz).reshape(len(xyz), 99)


def write_test_csv(path: Path, rows: Sequence[tuple[str, str, int]], width: int = 12) -> None:
    lines = [",".join(["", "type", "name", "count"] + [f"L{i}" for i in range(1, width + 1)])]
    for i, (kind, name, count) in enumerate(rows):
        lines.append(",".join([str(i), kind, name, str(count)] + [""] * width))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def salient_rows(exercise: str, video: str, pairs: int, seed: int) -> list[str]:
    """train.csv lines of one training video: ``pairs`` salient1 and salient2 images each."""
    rng = np.random.default_rng(seed)
    rest, active = key_poses(exercise)
    out = []
    for folder, base in (("salient1", rest), ("salient2", active)):
        for k in range(pairs):
            xyz = base + rng.normal(0, 0.01, (33, 3))
            px = xyz * [WIDTH, HEIGHT, WIDTH]
            values = ",".join(f"{v:.5f}" for v in px.ravel())
            out.append(f"train/{exercise}/{folder}/{video}/{k}.jpg,{exercise},{values}")
    return out


def write_pose_counting(root: Path, *, train_videos: int = 4, pairs: int = 6) -> dict:
    """Write the fake corpus; returns what the import should find.

    Returns:
        ``{"sequences": {video_id: count}, "train_clips": n, "salient_frames": n, "no_poses": n}``.
    """
    tests = {"squat": [3, 5], "push_up": [4, 2]}
    rows, expected = [], {}
    for k, (ex, counts) in enumerate(tests.items()):
        for j, count in enumerate(counts):
            stem = f"{ex}{j + 1}"
            arr = sequence(ex, count, seed=10 * k + j, missing=5 if j == 1 else 0)
            (root / "test_poses").mkdir(parents=True, exist_ok=True)
            np.save(root / "test_poses" / f"{stem}.npy", arr)
            rows.append((ex, f"{stem}.mp4", count))
            expected[f"test/{stem}"] = count
    rows += [("bench_pressing", "bench_pressing1.mp4", 9), ("bench_pressing", "bench_pressing2.mp4", 7)]
    write_test_csv(root / "annotation" / "test.csv", rows)
    lines, frame_rows = [], []
    for ex in EXERCISES:
        for v in range(train_videos):
            video = f"{ex}{v + 1:03d}.mp4"
            lines += salient_rows(ex, video, pairs, seed=100 + v + 10 * EXERCISES.index(ex))
            frames = [5 + 20 * i for i in range(2 * pairs)]
            frame_rows.append((ex, f"{ex}{v + 1}.mp4", frames))
    (root / "annotation_pose").mkdir(parents=True, exist_ok=True)
    (root / "annotation_pose" / "train.csv").write_text("\n".join(lines) + "\n")
    width = max(len(f) for _, _, f in frame_rows)
    out = [",".join(["", "type", "name"] + [f"L{i}" for i in range(1, width + 1)])]
    for i, (ex, name, frames) in enumerate(frame_rows):
        out.append(",".join([str(i), ex, name] + [f"{f:.1f}" for f in frames] + [""] * (width - len(frames))))
    (root / "annotation" / "pose_train.csv").write_text("\n".join(out) + "\n")
    return {"sequences": expected, "train_clips": train_videos * len(EXERCISES),
            "salient_frames": train_videos * len(EXERCISES) * 2 * pairs, "no_poses": 2}
