"""A tiny, learnable ``arrays`` export written with the format's own writer (:mod:`gymdata.arrays`:
clips.parquet, meta.json, video.npy, poses.npy, pose_valid.npy) from made-up clips, for the
baseline tests: two exercises with 3 and 2 criteria, two views per unit, train/val/test parts
(and :class:`TinyStream`, a small stand-in for r3d_18).

Every criterion verdict is drawn at random and written into the inputs: in the pose, as a
landmark's x position; in the video, as the brightness of a band of the frames. The score is the
share of criteria met, on a 0..10 scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from gymdata import arrays

EXERCISES = ["lunge", "squat"]
CRITERIA = {"lunge": ["knee low", "back straight", "head up"], "squat": ["depth", "feet out"]}


def write_export(out: Path, *, units: int = 24, frames: int = 4, size: int = 16, seed: int = 0,
                 parts: tuple[str, ...] = ("train", "train", "train", "val", "test")) -> Path:
    """Write the export into ``out`` and return it."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    width = max(len(c) for c in CRITERIA.values())
    rows, videos, poses = [], [], []
    base_pose = rng.uniform(0.3, 0.7, (33, 4)).astype(np.float32)
    base_pose[:, 3] = 0.9
    for u in range(units):
        ex = EXERCISES[u % 2]
        bits = rng.integers(0, 2, len(CRITERIA[ex]))
        crit = [int(b) for b in bits] + [-1] * (width - len(bits))
        part = parts[u % len(parts)]
        for v, view in enumerate(("frontal", "lateral")):
            pose = np.repeat(base_pose[None], frames, 0) + rng.normal(0, 0.01, (frames, 33, 4)).astype(np.float32)
            pose[:, :11, 1] -= 0.3 * (u % 2)  # the exercise moves the head
            for j, b in enumerate(bits):  # each verdict moves one limb, over time
                pose[:, 11 + 2 * j + v, 0] += (0.3 if b else -0.3) * np.linspace(0.2, 1, frames)
            clip = np.full((frames, size, size, 3), 60 + 60 * (u % 2), np.uint8)
            for j, b in enumerate(bits):
                band = slice(j * size // width, (j + 1) * size // width)
                clip[:, band, :, j % 3] = 230 if b else 10
            clip = np.clip(clip.astype(int) + rng.integers(-8, 8, clip.shape), 0, 255).astype(np.uint8)
            rows.append({"row": len(rows), "video_id": f"{ex}/{u}/{view}", "unit": f"{ex}/{u}#0", "view": view,
                         "exercise": ex, "exercise_id": EXERCISES.index(ex), "subject": f"s{u % 6}",
                         "recording": f"{ex}/{u}", "rep_index": 0, "split": part, "num_frames": frames,
                         "fps": 30.0, "score": 10.0 * float(bits.mean()), "score_min": 0.0,
                         "score_max": 10.0, "criteria": crit,
                         "frame_indices": list(range(frames))})
            videos.append(clip)
            poses.append(pose)
    clips = pd.DataFrame(rows)
    clips["rep_index"] = clips["rep_index"].astype("Int64")
    np.save(out / arrays.VIDEO, np.stack(videos))
    np.save(out / arrays.POSES, np.stack(poses))
    arrays.finish(out, clips, frames=frames, size=size, resize="squash", exercises=EXERCISES, criteria=CRITERIA,
                  score_name="total", views=["frontal", "lateral"], rows=len(rows), video=True, poses=True,
                  pose_valid=np.ones((len(rows), frames), bool), pose_clips=len(rows))
    return out


class TinyStream(nn.Module):
    """Stands in for r3d_18 in the training tests (same input, same 512-d output, 1/10,000 of its
    66M parameters for two views, whose Adam steps and checkpoints take seconds on a CPU)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv3d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool3d(1))
        self.fc = nn.Linear(8, 512)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))
