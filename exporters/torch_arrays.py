"""The ``arrays`` exporter: pre-decoded clips, pose arrays and frame states for training.

The format (layout, units, score scale) and its readers (torch Datasets) live in
:mod:`gymdata.arrays`; this module gathers what goes into it from the store: the clips' current
ground-truth criteria and score, their media (decoded in worker processes straight into the
memory-mapped ``video.npy``), their poses and their Active/Resting frame states.

Frame states come from ``segments`` of kind ``state`` (labels ``A``/``R``) when a clip has them,
else from its ``repetition`` segments (inside a repetition = Active, elsewhere = Resting).
Poses: of a clip's pose sources, the one with most frames is used (``-o pose_source=NAME`` picks
one); clips of a BlazePose-33 layout only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from exporters import DecodeTask, Exporter, Option, clip_media, decode_into, labels_of, pick_pose_source
from gymdata import arrays, labels
from gymdata.errors import InputError
from gymdata.runner import run_tasks
from gymdata.schema import LANDMARK_DIMS, NUM_LANDMARKS
from gymdata.splits import clip_labels
from gymdata.store import Dataset

_POSE_BATCH = 256  # clips whose poses are read at once
_POSE_COLUMNS = ["video_id", "frame", "layout", "landmarks", "detected", "source"]


def _vocabulary(ds: Dataset) -> tuple[list[str], dict[str, list[str]]]:
    """Exercise names (sorted) and criterion names per exercise (order of first appearance) of the
    whole dataset, so that ids and vector positions agree between exports of different splits."""
    exercises = sorted(ds.df("videos", columns=["exercise"])["exercise"].unique())
    if not ds.has("criteria"):
        return exercises, {}
    # names only (no label is resolved here), in the order the history first mentions them
    crit = ds.df("criteria", columns=["video_id", "criterion"], filter={"origin": list(labels.GROUND_TRUTH)})
    crit = crit.merge(ds.df("videos", columns=["video_id", "exercise"]), on="video_id")
    return exercises, {ex: list(dict.fromkeys(g["criterion"])) for ex, g in crit.groupby("exercise", sort=True)}


def write_arrays(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
                 frames: int = 16, size: int = 224, resize: str = "squash", video: bool = True,
                 poses: bool = True, states: bool = True, pose_source: str = "") -> dict:
    """Write the arrays of ``videos`` into ``out`` (see :mod:`gymdata.arrays`).

    Raises:
        InputError: On a bad frame count or size, or when no clip could be decoded.
    """
    if frames < 1 or size < 8:
        raise InputError(f"frames={frames}, size={size}: need frames >= 1 and size >= 8")
    videos = videos.reset_index(drop=True)
    n = len(videos)
    exercises, order = _vocabulary(ds)
    chosen = clip_labels(ds, videos)
    clips = arrays.clip_table(
        videos, exercises=exercises, criteria=order, frames=frames,
        verdicts=labels_of(ds, "criteria", videos["video_id"], ["video_id", "criterion", "passed"]),
        scores=_scores(ds, videos, chosen.score_name))

    decoded = 0
    errors: list[str] = []
    if video:
        arrays.create_array(out, arrays.VIDEO, (n, frames, size, size, 3), np.uint8)  # workers open it themselves
        tasks = []
        for i, clip in videos.iterrows():
            kind, media = clip_media(ds, clip)
            tasks.append(DecodeTask(i, kind, media, tuple(clips.at[i, "frame_indices"]), size, resize,
                                    str(out / arrays.VIDEO)))
        failed_rows: list[int] = []
        for outcome in run_tasks(decode_into, tasks, workers=workers, desc="decoding", unit="clip",
                                 progress=progress, count=lambda k: k):
            if outcome.ok:
                decoded += 1
            else:
                failed_rows.append(outcome.item.row)
                errors.append(f"{videos.at[outcome.item.row, 'video_id']}: {outcome.error}")
        if not decoded:
            raise InputError(f"no clip could be decoded ({errors[0] if errors else 'no clips'})")
        # a clip whose frames could not be read must not train as a black clip: it leaves the index
        clips = clips[~clips["row"].isin(failed_rows)]
    posed, valid = _write_poses(ds, clips, out, n, frames, pose_source) if poses else (0, None)
    state_frames = _write_states(ds, videos, out, pose_source) if states else 0
    meta = arrays.finish(out, clips, frames=frames, size=size, resize=resize, exercises=exercises, criteria=order,
                         score_name=chosen.score_name, views=list(videos["view"].dropna().unique()), rows=n,
                         video=video, poses=poses, pose_valid=valid, pose_clips=posed, state_frames=state_frames,
                         decode_failures=errors)
    return {"units": meta["units"], "decoded": decoded, "failed": len(errors), "posed clips": posed,
            "state frames": state_frames}


def _scores(ds: Dataset, videos: pd.DataFrame, name: str | None) -> pd.DataFrame:
    """Value and scale of the current ground-truth score ``name`` per clip, indexed by video_id."""
    if name is None:
        return pd.DataFrame(columns=["score", "score_min", "score_max"])
    sc = labels_of(ds, "scores", videos["video_id"], ["video_id", "name", "value", "scale_min", "scale_max", "origin"])
    sc = sc[sc["name"] == name]
    return pd.DataFrame({"score": sc["value"].to_numpy(float), "score_min": sc["scale_min"].to_numpy(float),
                         "score_max": sc["scale_max"].to_numpy(float)}, index=sc["video_id"].to_numpy())


def _write_poses(ds: Dataset, clips: pd.DataFrame, out: Path, n: int, frames: int,
                 pose_source: str) -> tuple[int, np.ndarray | None]:
    """Fill ``poses.npy`` at the sampled frames; returns the clips with poses and the validity flags."""
    if not ds.has("poses"):
        return 0, None
    arr, valid = arrays.create_pose_arrays(out, n, frames)
    posed = 0
    rows = dict(zip(clips["video_id"], clips["row"]))
    wanted = dict(zip(clips["video_id"], clips["frame_indices"]))
    ids = list(rows)
    for start in range(0, len(ids), _POSE_BATCH):
        table = labels_of(ds, "poses", ids[start:start + _POSE_BATCH], _POSE_COLUMNS)
        for vid, group in table.groupby("video_id"):
            group = pick_pose_source(group, wanted=pose_source)
            if group.empty:
                continue
            by_frame = dict(zip(group["frame"], zip(group["landmarks"], group["detected"])))
            row = rows[vid]
            for t, f in enumerate(wanted[vid]):
                hit = by_frame.get(f)
                if hit is not None:
                    arr[row, t] = np.asarray(hit[0], np.float32).reshape(NUM_LANDMARKS, LANDMARK_DIMS)
                    valid[row, t] = bool(hit[1])
            posed += 1
    arr.flush()
    return posed, valid


def _write_states(ds: Dataset, videos: pd.DataFrame, out: Path, pose_source: str) -> int:
    """Write the frame-level Active/Resting arrays of the clips with segments and poses."""
    if not (ds.has("segments") and ds.has("poses")):
        return 0
    segs = labels_of(ds, "segments", videos["video_id"], ["video_id", "kind", "label", "start_frame", "end_frame"])
    segs = segs[segs["kind"].isin(["state", "repetition"])]
    segs = {vid: g for vid, g in segs.groupby("video_id")}
    labelled = [(row, clip) for row, clip in videos.iterrows() if clip["video_id"] in segs]
    landmarks, states, rows = [], [], []
    for start in range(0, len(labelled), _POSE_BATCH):
        batch = labelled[start:start + _POSE_BATCH]
        table = labels_of(ds, "poses", [c["video_id"] for _, c in batch], _POSE_COLUMNS)
        by_clip = {vid: g for vid, g in table.groupby("video_id")}
        for row, clip in batch:
            state = arrays.frame_states(clip["num_frames"], segs[clip["video_id"]])
            poses = pick_pose_source(by_clip.get(clip["video_id"], table.iloc[:0]), wanted=pose_source)
            poses = poses[poses["detected"] & (poses["frame"] < len(state))]
            keep = state[poses["frame"].to_numpy()] >= 0
            if not keep.any():
                continue
            landmarks.append(np.stack(poses["landmarks"].to_numpy()[keep]).astype(np.float32))
            states.append(state[poses["frame"].to_numpy()[keep]])
            rows.append(np.full(int(keep.sum()), row, np.int32))
    return arrays.write_frame_states(out, landmarks, states, rows)


exporter = Exporter(
    name="arrays",
    description="pre-decoded uint8 clips (memory-mapped), pose arrays and frame states, with torch Datasets",
    write=write_arrays,
    options={
        "frames": Option(int, 16, "frames sampled uniformly per clip"),
        "size": Option(int, 224, "frame width and height in pixels"),
        "resize": Option(str, "squash", "squash (no aspect kept) or crop (centre square)", ("squash", "crop")),
        "video": Option(bool, True, "decode the clips into video.npy"),
        "poses": Option(bool, True, "write poses.npy at the sampled frames"),
        "states": Option(bool, True, "write the frame-level Active/Resting arrays"),
        "pose_source": Option(str, "", "pose source to use (default: the one with most frames per clip)"),
    },
)
