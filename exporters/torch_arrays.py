"""Training arrays: pre-decoded clips and pose arrays on disk, and torch Datasets over them.

Decoding video is what keeps a GPU waiting, so it is done once, at export: ``T`` frames sampled
uniformly per clip (``linspace(0, N-1, T)``, as the scoring projects and ALEX-GYM-1 do), resized
to ``size`` x ``size``, written into one memory-mapped uint8 array. A DataLoader then only copies
slices of it. Layout of ``OUT``::

    meta.json           version, frames, size, exercises (id order), criteria per exercise (order),
                        score name, its scale overall (score_scale) and per exercise (score_scales),
                        views, counts
    clips.parquet       one row per clip: row (index into the arrays), video_id, unit, view,
                        exercise, exercise_id, subject, recording, rep_index, split, score with
                        its own scale (score_min, score_max: ALEX-GYM-1's total is out of 6, 2.5 or 3.5),
                        criteria (int8 per criterion of the exercise: 1 met, 0 not met, -1 unknown),
                        frame_indices (the sampled frames), num_frames, fps
    video.npy           uint8 (clips, T, size, size, 3), RGB            [option video=true]
    poses.npy           float32 (clips, T, 33, 4) at the sampled frames [option poses=true]
    pose_valid.npy      bool (clips, T): a detected pose was found for the frame
    frames/landmarks.npy, frames/state.npy, frames/clip.npy
                        every posed frame of the clips with Active/Resting labels: float32 (F, 33, 4),
                        int8 (F,) 1 = Active, 0 = Resting, int32 (F,) row of its clip

A *unit* is what one training sample is made of: the clips of one repetition of one take
(``recording`` + ``rep_index``; a clip with no recording is its own unit), e.g. the frontal and
lateral clip of an ALEX-GYM-1 row. Criteria and scores are merged over a unit's clips.

Frame states come from ``segments`` of kind ``state`` (labels ``A``/``R``) when a clip has them,
else from its ``repetition`` segments (inside a repetition = Active, elsewhere = Resting).
Poses: of a clip's pose sources, the one with most frames is used (``-o pose_source=NAME`` picks
one); clips of a BlazePose-33 layout only.

Datasets (all return dicts of tensors, labels included, and take ``split=`` to keep one part):
:class:`ClipDataset` (one or two views, uint8 video), :class:`PoseSequenceDataset` (pose
sequences, optionally normalised to T x 133 with :func:`gymdata.features.normalize_landmarks`),
:class:`FrameStateDataset` (frame-level Active/Resting). :func:`to_model_input` turns a uint8
batch into the normalised float (B, 3, T, H, W) a video network takes, on the GPU.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset as TorchDataset

from exporters import DecodeTask, Exporter, Option, clip_media, decode_into, labels_of, pick_pose_source
from gymdata import labels
from gymdata.errors import InputError
from gymdata.media import sample_indices
from gymdata.runner import run_tasks
from gymdata.safety import reserve
from gymdata.schema import LANDMARK_DIMS, NUM_LANDMARKS
from gymdata.splits import clip_labels
from gymdata.store import Dataset

VERSION = 1
#: Kinetics-400 normalisation (torchvision's video models were trained with it).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
_POSE_BATCH = 256  # clips whose poses are read at once


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

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


def _unit_keys(videos: pd.DataFrame) -> pd.Series:
    rep = videos["rep_index"].astype("Int64").astype("string").fillna("")
    key = videos["recording"].astype("string") + "#" + rep
    return key.fillna("clip:" + videos["video_id"]).astype(str)


def _states(clip: pd.Series, segs: pd.DataFrame) -> np.ndarray:
    """Per-frame 1 (Active) / 0 (Resting) / -1 (unknown) of a clip from its segments."""
    n = int(clip["num_frames"])
    states = segs[segs["kind"] == "state"]
    reps = segs[segs["kind"] == "repetition"]
    out = np.full(n, -1 if not states.empty else 0, np.int8)
    for s, e, label in zip(states["start_frame"], states["end_frame"], states["label"]):
        out[max(int(s), 0):min(int(e), n - 1) + 1] = 1 if str(label).upper().startswith("A") else 0
    if states.empty:
        for s, e in zip(reps["start_frame"], reps["end_frame"]):
            out[max(int(s), 0):min(int(e), n - 1) + 1] = 1
    return out


def write_arrays(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
                 frames: int = 16, size: int = 224, resize: str = "squash", video: bool = True,
                 poses: bool = True, states: bool = True, pose_source: str = "") -> dict:
    """Write the arrays of ``videos`` into ``out`` (see the module docstring).

    Raises:
        InputError: On a bad frame count or size, or when no clip could be decoded.
    """
    if frames < 1 or size < 8:
        raise InputError(f"frames={frames}, size={size}: need frames >= 1 and size >= 8")
    videos = videos.reset_index(drop=True)
    n = len(videos)
    exercises, order = _vocabulary(ds)
    crit = labels_of(ds, "criteria", videos["video_id"], ["video_id", "criterion", "passed"])
    labels = clip_labels(ds, videos)
    width = max((len(v) for v in order.values()), default=0)
    clips = pd.DataFrame({
        "row": np.arange(n, dtype=np.int64), "video_id": videos["video_id"], "unit": _unit_keys(videos),
        "view": videos["view"], "exercise": videos["exercise"],
        "exercise_id": videos["exercise"].map({e: i for i, e in enumerate(exercises)}).astype(np.int64),
        "subject": videos["subject"], "recording": videos["recording"],
        "rep_index": videos["rep_index"].astype("Int64"), "split": videos["split"],
        "num_frames": videos["num_frames"].astype(np.int64), "fps": videos["fps"].astype(float),
    })
    # scores and criteria are merged over the clips of a unit (e.g. the two views of an ALEX row)
    sc = _scores(ds, videos, labels.score_name)
    for column in ("score", "score_min", "score_max"):
        values = videos["video_id"].map(sc[column]) if len(sc) else pd.Series(np.nan, index=videos.index)
        clips[column] = values.groupby(clips["unit"]).transform("mean").astype(float)
    # one verdict per unit and criterion: the clips of a unit (views) each carry their current
    # label; the unit takes its last clip's (this merges views, not label history)
    verdict = crit.merge(clips[["video_id", "unit"]], on="video_id").groupby(["unit", "criterion"]).tail(1)
    per_unit = {(u, c): int(bool(p)) for u, c, p in zip(verdict["unit"], verdict["criterion"], verdict["passed"])
                if pd.notna(p)}
    clips["criteria"] = [
        [per_unit.get((u, c), -1) for c in order.get(ex, [])] + [-1] * (width - len(order.get(ex, [])))
        for u, ex in zip(clips["unit"], clips["exercise"])]
    clips["frame_indices"] = [sample_indices(int(nf), frames).tolist() for nf in clips["num_frames"]]

    decoded = 0
    errors: list[str] = []
    failed_rows: list[int] = []
    if video:
        array = np.lib.format.open_memmap(out / "video.npy", mode="w+", dtype=np.uint8,
                                          shape=(n, frames, size, size, 3))
        del array  # workers open it themselves
        reserve(out / "video.npy")  # disk full is an error here, not a SIGBUS in a worker
        tasks = []
        for i, clip in videos.iterrows():
            kind, media = clip_media(ds, clip)
            tasks.append(DecodeTask(i, kind, media, tuple(clips.at[i, "frame_indices"]), size, resize,
                                    str(out / "video.npy")))
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
    posed = _write_poses(ds, videos, clips, out, frames, pose_source) if poses else 0
    state_frames = _write_states(ds, videos, out, pose_source) if states else 0

    clips.to_parquet(out / "clips.parquet", index=False)
    meta = {
        "format": "gymdata-arrays", "version": VERSION, "frames": frames, "size": size, "resize": resize,
        "exercises": exercises, "criteria": order, "criteria_width": width,
        "score_name": labels.score_name,
        "score_scale": [float(clips["score_min"].min()), float(clips["score_max"].max())]
        if clips["score"].notna().any() else None,
        "score_scales": {ex: [float(g["score_min"].min()), float(g["score_max"].max())]
                         for ex, g in clips.dropna(subset=["score"]).groupby("exercise")},
        "views": sorted(v for v in videos["view"].dropna().unique()),
        "clips": len(clips), "units": int(clips["unit"].nunique()), "video": video,
        "poses": bool(poses), "pose_clips": posed, "state_frames": state_frames,
        "rows": n, "decode_failures": errors,
        "kinetics_mean": KINETICS_MEAN, "kinetics_std": KINETICS_STD,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    return {"units": meta["units"], "decoded": decoded, "failed": len(failed_rows), "posed clips": posed,
            "state frames": state_frames}


def _scores(ds: Dataset, videos: pd.DataFrame, name: str | None) -> pd.DataFrame:
    """Value and scale of the current ground-truth score ``name`` per clip, indexed by video_id."""
    if name is None:
        return pd.DataFrame(columns=["score", "score_min", "score_max"])
    sc = labels_of(ds, "scores", videos["video_id"], ["video_id", "name", "value", "scale_min", "scale_max", "origin"])
    sc = sc[sc["name"] == name]
    return pd.DataFrame({"score": sc["value"].to_numpy(float), "score_min": sc["scale_min"].to_numpy(float),
                         "score_max": sc["scale_max"].to_numpy(float)}, index=sc["video_id"].to_numpy())


def _write_poses(ds: Dataset, videos: pd.DataFrame, clips: pd.DataFrame, out: Path, frames: int,
                 pose_source: str) -> int:
    if not ds.has("poses"):
        return 0
    n = len(videos)
    arr = np.lib.format.open_memmap(out / "poses.npy", mode="w+", dtype=np.float32,
                                    shape=(n, frames, NUM_LANDMARKS, LANDMARK_DIMS))
    reserve(out / "poses.npy")
    valid = np.zeros((n, frames), bool)
    posed = 0
    rows = dict(zip(clips["video_id"], clips["row"]))
    wanted = dict(zip(clips["video_id"], clips["frame_indices"]))
    ids = list(rows)
    for start in range(0, len(ids), _POSE_BATCH):
        batch = ids[start:start + _POSE_BATCH]
        table = labels_of(ds, "poses", batch, ["video_id", "frame", "layout", "landmarks", "detected", "source"])
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
    np.save(out / "pose_valid.npy", valid)
    return posed


def _write_states(ds: Dataset, videos: pd.DataFrame, out: Path, pose_source: str) -> int:
    if not (ds.has("segments") and ds.has("poses")):
        return 0
    segs = labels_of(ds, "segments", videos["video_id"], ["video_id", "kind", "label", "start_frame", "end_frame"])
    segs = segs[segs["kind"].isin(["state", "repetition"])]
    segs = {vid: g for vid, g in segs.groupby("video_id")}
    labelled = [(row, clip) for row, clip in videos.iterrows() if clip["video_id"] in segs]
    landmarks, states, rows = [], [], []
    for start in range(0, len(labelled), _POSE_BATCH):
        batch = labelled[start:start + _POSE_BATCH]
        table = labels_of(ds, "poses", [c["video_id"] for _, c in batch],
                          ["video_id", "frame", "layout", "landmarks", "detected", "source"])
        by_clip = {vid: g for vid, g in table.groupby("video_id")}
        for row, clip in batch:
            state = _states(clip, segs[clip["video_id"]])
            poses = pick_pose_source(by_clip.get(clip["video_id"], table.iloc[:0]), wanted=pose_source)
            poses = poses[poses["detected"] & (poses["frame"] < len(state))]
            keep = state[poses["frame"].to_numpy()] >= 0
            if not keep.any():
                continue
            landmarks.append(np.stack(poses["landmarks"].to_numpy()[keep]).astype(np.float32))
            states.append(state[poses["frame"].to_numpy()[keep]])
            rows.append(np.full(int(keep.sum()), row, np.int32))
    if not landmarks:
        return 0
    (out / "frames").mkdir()
    lm = np.concatenate(landmarks).reshape(-1, NUM_LANDMARKS, LANDMARK_DIMS)
    np.save(out / "frames" / "landmarks.npy", lm)
    np.save(out / "frames" / "state.npy", np.concatenate(states))
    np.save(out / "frames" / "clip.npy", np.concatenate(rows))
    return len(lm)


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


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------

class _ArrayDataset(TorchDataset):
    """What the datasets share: the export's metadata, its clip table, lazily opened arrays."""

    def __init__(self, export_dir: str | Path, split: str | Sequence[str] | None = None,
                 exercises: Sequence[str] | None = None):
        self.root = Path(export_dir)
        if not (self.root / "meta.json").is_file():
            raise InputError("not an arrays export (no meta.json)", path=self.root,
                             hint="make one with: gymdata export NAME --format arrays OUT")
        self.meta = json.loads((self.root / "meta.json").read_text())
        clips = pd.read_parquet(self.root / "clips.parquet")
        if split is not None:
            wanted = [split] if isinstance(split, str) else list(split)
            clips = clips[clips["split"].isin(wanted)]
        if exercises is not None:
            clips = clips[clips["exercise"].isin(list(exercises))]
        self.clips = clips.reset_index(drop=True)
        self._arrays: dict[str, np.ndarray] = {}

    def _array(self, name: str) -> np.ndarray:
        # opened on first use in each DataLoader worker: a memmap is cheap to open, and not shared
        if name not in self._arrays:
            path = self.root / name
            if not path.is_file():
                raise InputError(f"the export has no {name}", path=self.root,
                                 hint="export again without turning that array off")
            self._arrays[name] = np.load(path, mmap_mode="r")
        return self._arrays[name]

    def __getstate__(self):  # DataLoader workers get the metadata, not open memmaps
        state = dict(self.__dict__)
        state["_arrays"] = {}
        return state

    @property
    def exercises(self) -> list[str]:
        """Exercise names in ``exercise_id`` order."""
        return self.meta["exercises"]

    def criteria(self, exercise: str) -> list[str]:
        """Criterion names of an exercise, in the order of the ``criteria`` vectors."""
        return self.meta["criteria"].get(exercise, [])

    def _labels(self, rows: pd.DataFrame) -> dict[str, torch.Tensor | str]:
        first = rows.iloc[0]
        crit = np.asarray(first["criteria"], np.int64)
        span = first["score_max"] - first["score_min"]
        return {
            "criteria": torch.from_numpy((crit == 1).astype(np.float32)),
            "criteria_mask": torch.from_numpy(crit >= 0),
            "score": torch.tensor(float(first["score"]) if pd.notna(first["score"]) else float("nan")),
            "score_norm": torch.tensor(float((first["score"] - first["score_min"]) / span)
                                       if pd.notna(first["score"]) and span > 0 else float("nan")),
            "exercise": torch.tensor(int(first["exercise_id"])),
            "unit": first["unit"],
            "subject": first["subject"] if isinstance(first["subject"], str) else "",
            "split": first["split"] if isinstance(first["split"], str) else "",
        }


class _UnitDataset(_ArrayDataset):
    """Items are units that have a clip for every requested view (or single clips, views=None)."""

    def __init__(self, export_dir, views: Sequence[str] | None = ("frontal", "lateral"), **kwargs):
        super().__init__(export_dir, **kwargs)
        self.views = tuple(views) if views else None
        if self.views is None:
            self.items = [np.array([r]) for r in range(len(self.clips))]
        else:
            picked = self.clips[self.clips["view"].isin(self.views)]
            self.items = []
            for _, group in picked.groupby("unit", sort=True):
                by_view = dict(zip(group["view"], group.index))
                if all(v in by_view for v in self.views):
                    self.items.append(np.array([by_view[v] for v in self.views]))
        if not self.items:
            raise InputError(f"no items with views {self.views} in the selection", path=self.root,
                             hint=f"views in this export: {', '.join(self.meta['views']) or 'none'}")

    def __len__(self) -> int:
        return len(self.items)


class ClipDataset(_UnitDataset):
    """Video clips of one or more views per unit, as uint8.

    An item is a dict: ``video`` uint8 (V, T, H, W, 3), ``criteria`` float (C,) 1 = met,
    ``criteria_mask`` bool (C,) verdict known, ``score`` float as stored and ``score_norm`` in
    0..1 of the clip's own scale (NaN if none), ``exercise`` int,
    and the strings ``unit``, ``subject``, ``split``. Use :func:`to_model_input` on the batch
    (on the GPU) to get normalised float (B, 3, T, H, W) per view.

    Args:
        export_dir: An ``arrays`` export.
        views: Views per item, in this order (``None``: every clip alone, V = 1).
        split: Keep one part (or several).
        exercises: Keep these exercises.
        transform: Optional function applied to the item dict.
    """

    def __init__(self, export_dir, views: Sequence[str] | None = ("frontal", "lateral"), *,
                 split=None, exercises=None, transform=None):
        super().__init__(export_dir, views=views, split=split, exercises=exercises)
        self.transform = transform

    def __getitem__(self, i: int) -> dict:
        rows = self.items[i]
        video = self._array("video.npy")
        idx = self.clips["row"].to_numpy()[rows]
        clip = np.stack([video[r] for r in idx])  # a copy: the memmap stays read-only
        item = {"video": torch.from_numpy(clip), **self._labels(self.clips.iloc[rows])}
        return self.transform(item) if self.transform else item


class PoseSequenceDataset(_UnitDataset):
    """Pose sequences at the sampled frames, one or more views per unit.

    An item has ``pose`` float (V, T, 33, 4) (or (V, T, 133) with ``normalize=True``, the scoring
    projects' features), ``valid`` bool (V, T), and the labels of :class:`ClipDataset`.
    """

    def __init__(self, export_dir, views: Sequence[str] | None = ("frontal", "lateral"), *,
                 split=None, exercises=None, normalize: bool = False, transform=None):
        super().__init__(export_dir, views=views, split=split, exercises=exercises)
        self.normalize = normalize
        self.transform = transform
        if normalize:
            from gymdata.features import normalize_landmarks  # noqa: F401 (fail early if missing)

    def __getitem__(self, i: int) -> dict:
        rows = self.items[i]
        idx = self.clips["row"].to_numpy()[rows]
        pose = np.stack([self._array("poses.npy")[r] for r in idx])
        valid = np.stack([self._array("pose_valid.npy")[r] for r in idx])
        pose = torch.from_numpy(pose)
        if self.normalize:
            from gymdata.features import normalize_landmarks

            pose = normalize_landmarks(pose).float()
        item = {"pose": pose, "valid": torch.from_numpy(valid),
                **self._labels(self.clips.iloc[rows])}
        return self.transform(item) if self.transform else item


class FrameStateDataset(_ArrayDataset):
    """Single frames with their Active (1) / Resting (0) label, for frame-level state models.

    An item has ``landmarks`` float (33, 4), ``state`` int, ``exercise`` int, ``clip`` int (the
    frame's clip row, to regroup frames into sequences).
    """

    def __init__(self, export_dir, *, split=None, exercises=None):
        super().__init__(export_dir, split=split, exercises=exercises)
        if not (self.root / "frames" / "state.npy").is_file():
            raise InputError("the export has no frame states", path=self.root,
                             hint="states come from state or repetition segments and poses of the clips")
        clip_of = np.load(self.root / "frames" / "clip.npy")
        keep = np.isin(clip_of, self.clips["row"].to_numpy())
        self.frames = np.flatnonzero(keep)
        self._exercise = dict(zip(self.clips["row"], self.clips["exercise_id"]))
        self._clip_of = clip_of

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> dict:
        f = int(self.frames[i])
        clip = int(self._clip_of[f])
        return {"landmarks": torch.from_numpy(np.array(self._array("frames/landmarks.npy")[f])),
                "state": torch.tensor(int(self._array("frames/state.npy")[f])),
                "exercise": torch.tensor(int(self._exercise[clip])), "clip": torch.tensor(clip)}

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All selected frames at once: landmarks (F, 33, 4), states (F,), clip rows (F,)."""
        return (np.asarray(self._array("frames/landmarks.npy")[self.frames]),
                np.asarray(self._array("frames/state.npy")[self.frames]), self._clip_of[self.frames])


def to_model_input(video: torch.Tensor, mean: Sequence[float] = KINETICS_MEAN,
                   std: Sequence[float] = KINETICS_STD) -> torch.Tensor:
    """uint8 (..., T, H, W, 3) -> normalised float (..., 3, T, H, W), on ``video``'s device.

    Move the uint8 batch to the GPU first (4x fewer bytes than float), then call this.
    """
    x = video.float().div_(255.0)
    m = torch.tensor(mean, device=x.device, dtype=x.dtype)
    s = torch.tensor(std, device=x.device, dtype=x.dtype)
    x = (x - m) / s
    return x.movedim(-1, -4).contiguous()
