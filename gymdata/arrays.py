"""The training-arrays format: pre-decoded clips and pose arrays on disk, written and read here.

Decoding video is what keeps a GPU waiting, so it is done once, at export: ``T`` frames sampled
uniformly per clip (``linspace(0, N-1, T)``, as the scoring projects and ALEX-GYM-1 do), resized
to ``size`` x ``size``, written into one memory-mapped uint8 array. A loader then only copies
slices of it. Layout of an export folder::

    meta.json           format, version, frames, size, exercises (id order), criteria per exercise
                        (order), score name, its scale overall (score_scale) and per exercise
                        (score_scales), views, counts
    clips.parquet       one row per clip: row (index into the arrays), video_id, unit, view,
                        exercise, exercise_id, subject, recording, rep_index, split, score with
                        its own scale (score_min, score_max: ALEX-GYM-1's total is out of 6, 2.5 or 3.5),
                        criteria (int8 per criterion of the exercise: 1 met, 0 not met, -1 unknown),
                        frame_indices (the sampled frames), num_frames, fps
    video.npy           uint8 (clips, T, size, size, 3), RGB
    poses.npy           float32 (clips, T, 33, 4) at the sampled frames
    pose_valid.npy      bool (clips, T): a detected pose was found for the frame
    frames/landmarks.npy, frames/state.npy, frames/clip.npy
                        every posed frame of the clips with Active/Resting labels: float32 (F, 33, 4),
                        int8 (F,) 1 = Active, 0 = Resting, int32 (F,) row of its clip

A *unit* is what one training sample is made of: the clips of one repetition of one take
(``recording`` + ``rep_index``; a clip with no recording is its own unit), e.g. the frontal and
lateral clip of an ALEX-GYM-1 row. Criteria and scores are merged over a unit's clips.

**Scores** are read on each clip's own scale: ``(score - score_min) / (score_max - score_min)``
in 0..1 (:func:`score_norm`), the scale the ``scores`` table records per row. One export may mix
scales (ALEX-GYM-1's total is out of 6 for the squat, 2.5 or 3.5 for others), so the export-wide
``score_scale`` is only a summary, never a divisor.

Writing (the ``arrays`` exporter gathers clips, labels, media and poses from the store):
:func:`clip_table` builds the clip table, :func:`create_array` the memory-mapped arrays,
:func:`write_frame_states` the frame-level arrays, :func:`finish` ``clips.parquet`` and
``meta.json``. Reading: :func:`read_meta`, :func:`read_clips`, the torch Datasets
:class:`ClipDataset` (one or two views, uint8 video), :class:`PoseSequenceDataset` (pose
sequences, optionally normalised to T x 133), :class:`FrameStateDataset` (frame-level
Active/Resting) and :class:`ExportUnits` (whole batches in one gather, what the baselines train
on). :func:`to_model_input` turns a uint8 batch into the normalised float (B, 3, T, H, W) a video
network takes, on the GPU.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset as TorchDataset

from gymdata.errors import InputError
from gymdata.media import sample_indices
from gymdata.safety import reserve
from gymdata.schema import LANDMARK_DIMS, NUM_LANDMARKS

FORMAT = "gymdata-arrays"
VERSION = 1
VIDEO, POSES, POSE_VALID = "video.npy", "poses.npy", "pose_valid.npy"
FRAME_LANDMARKS, FRAME_STATES, FRAME_CLIPS = "frames/landmarks.npy", "frames/state.npy", "frames/clip.npy"
#: Kinetics-400 normalisation (torchvision's video models were trained with it).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
_MAKE_ONE = "make one with: gymdata export NAME --format arrays OUT"


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def unit_keys(videos: pd.DataFrame) -> pd.Series:
    """The unit of each clip: ``recording#rep_index``, or ``clip:<video_id>`` without a recording."""
    rep = videos["rep_index"].astype("Int64").astype("string").fillna("")
    key = videos["recording"].astype("string") + "#" + rep
    return key.fillna("clip:" + videos["video_id"]).astype(str)


def frame_states(num_frames: int, segments: pd.DataFrame) -> np.ndarray:
    """Per-frame 1 (Active) / 0 (Resting) / -1 (unknown) of a clip from its ``segments``:
    those of kind ``state`` (labels ``A``/``R``) when it has some, else its ``repetition``
    segments (inside a repetition = Active, elsewhere = Resting)."""
    n = int(num_frames)
    states = segments[segments["kind"] == "state"]
    reps = segments[segments["kind"] == "repetition"]
    out = np.full(n, -1 if not states.empty else 0, np.int8)
    for s, e, label in zip(states["start_frame"], states["end_frame"], states["label"]):
        out[max(int(s), 0):min(int(e), n - 1) + 1] = 1 if str(label).upper().startswith("A") else 0
    if states.empty:
        for s, e in zip(reps["start_frame"], reps["end_frame"]):
            out[max(int(s), 0):min(int(e), n - 1) + 1] = 1
    return out


def clip_table(videos: pd.DataFrame, *, exercises: Sequence[str], criteria: Mapping[str, Sequence[str]],
               verdicts: pd.DataFrame, scores: pd.DataFrame, frames: int) -> pd.DataFrame:
    """The ``clips.parquet`` table of ``videos`` (rows of the ``videos`` table, in array order).

    Args:
        videos: The clips, one per array row.
        exercises: Exercise names in id order.
        criteria: Criterion names per exercise, in vector order.
        verdicts: Current criterion labels: ``video_id``, ``criterion``, ``passed``.
        scores: Current value and scale of the exported score per clip: ``score``,
            ``score_min``, ``score_max``, indexed by ``video_id``.
        frames: Frames sampled per clip.
    """
    videos = videos.reset_index(drop=True)
    width = max((len(v) for v in criteria.values()), default=0)
    clips = pd.DataFrame({
        "row": np.arange(len(videos), dtype=np.int64), "video_id": videos["video_id"], "unit": unit_keys(videos),
        "view": videos["view"], "exercise": videos["exercise"],
        "exercise_id": videos["exercise"].map({e: i for i, e in enumerate(exercises)}).astype(np.int64),
        "subject": videos["subject"], "recording": videos["recording"],
        "rep_index": videos["rep_index"].astype("Int64"), "split": videos["split"],
        "num_frames": videos["num_frames"].astype(np.int64), "fps": videos["fps"].astype(float),
    })
    # scores and criteria are merged over the clips of a unit (e.g. the two views of an ALEX row)
    for column in ("score", "score_min", "score_max"):
        values = videos["video_id"].map(scores[column]) if len(scores) else pd.Series(np.nan, index=videos.index)
        clips[column] = values.groupby(clips["unit"]).transform("mean").astype(float)
    # one verdict per unit and criterion: the clips of a unit (views) each carry their current
    # label; the unit takes its last clip's (this merges views, not label history)
    verdict = verdicts.merge(clips[["video_id", "unit"]], on="video_id").groupby(["unit", "criterion"]).tail(1)
    per_unit = {(u, c): int(bool(p)) for u, c, p in zip(verdict["unit"], verdict["criterion"], verdict["passed"])
                if pd.notna(p)}
    clips["criteria"] = [
        [per_unit.get((u, c), -1) for c in criteria.get(ex, [])] + [-1] * (width - len(criteria.get(ex, [])))
        for u, ex in zip(clips["unit"], clips["exercise"])]
    clips["frame_indices"] = [sample_indices(int(nf), frames).tolist() for nf in clips["num_frames"]]
    return clips


def create_array(out: Path, name: str, shape: tuple[int, ...], dtype) -> np.memmap:
    """A new ``.npy`` array ``out/name`` of ``shape``, memory-mapped for writing, its disk space
    reserved (a full disk is an error here, not a SIGBUS in a worker writing into it)."""
    array = np.lib.format.open_memmap(out / name, mode="w+", dtype=dtype, shape=shape)
    reserve(out / name)
    return array


def create_pose_arrays(out: Path, rows: int, frames: int) -> tuple[np.memmap, np.ndarray]:
    """``poses.npy`` (memory-mapped, zeros) and the matching ``pose_valid`` flags (in memory;
    :func:`finish` saves them)."""
    return (create_array(out, POSES, (rows, frames, NUM_LANDMARKS, LANDMARK_DIMS), np.float32),
            np.zeros((rows, frames), bool))


def write_frame_states(out: Path, landmarks: Sequence[np.ndarray], states: Sequence[np.ndarray],
                       rows: Sequence[np.ndarray]) -> int:
    """Write the frame-level arrays from per-clip pieces; returns the number of frames (0: none
    written)."""
    if not landmarks:
        return 0
    (out / "frames").mkdir()
    lm = np.concatenate(landmarks).reshape(-1, NUM_LANDMARKS, LANDMARK_DIMS).astype(np.float32)
    np.save(out / FRAME_LANDMARKS, lm)
    np.save(out / FRAME_STATES, np.concatenate(states).astype(np.int8))
    np.save(out / FRAME_CLIPS, np.concatenate(rows).astype(np.int32))
    return len(lm)


def finish(out: Path, clips: pd.DataFrame, *, frames: int, size: int, resize: str, exercises: Sequence[str],
           criteria: Mapping[str, Sequence[str]], score_name: str | None, views: Sequence[str], rows: int,
           video: bool, poses: bool, pose_valid: np.ndarray | None = None, pose_clips: int = 0,
           state_frames: int = 0, decode_failures: Sequence[str] = ()) -> dict:
    """Write ``clips.parquet`` (the clips that stay in the index), ``pose_valid.npy`` (when
    given) and ``meta.json``; returns the metadata. ``video`` and ``poses`` record what was asked
    for."""
    if pose_valid is not None:
        np.save(out / POSE_VALID, pose_valid)
    clips.to_parquet(out / "clips.parquet", index=False)
    scored = clips.dropna(subset=["score"])
    meta = {
        "format": FORMAT, "version": VERSION, "frames": frames, "size": size, "resize": resize,
        "exercises": list(exercises), "criteria": {k: list(v) for k, v in criteria.items()},
        "criteria_width": max((len(v) for v in criteria.values()), default=0),
        "score_name": score_name,
        "score_scale": [float(scored["score_min"].min()), float(scored["score_max"].max())] if len(scored) else None,
        "score_scales": {ex: [float(g["score_min"].min()), float(g["score_max"].max())]
                         for ex, g in scored.groupby("exercise")},
        "views": sorted(views), "clips": len(clips), "units": int(clips["unit"].nunique()), "video": video,
        "poses": bool(poses), "pose_clips": pose_clips, "state_frames": state_frames,
        "rows": rows, "decode_failures": list(decode_failures),
        "kinetics_mean": KINETICS_MEAN, "kinetics_std": KINETICS_STD,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    return meta


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

def read_meta(export: str | Path) -> dict:
    """The ``meta.json`` of an export.

    Raises:
        InputError: If ``export`` is not one.
    """
    path = Path(export)
    if not (path / "meta.json").is_file():
        raise InputError("not an arrays export (no meta.json)", path=path, hint=_MAKE_ONE)
    try:
        meta = json.loads((path / "meta.json").read_text())
    except ValueError as exc:
        raise InputError(f"meta.json is damaged (not valid JSON: {exc})", path=path / "meta.json",
                         hint="export again") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise InputError(f"meta.json says format {got!r}, not {FORMAT}", path=path, hint=_MAKE_ONE)
    return meta


def read_clips(export: str | Path, *, split: str | Sequence[str] | None = None,
               exercises: Sequence[str] | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The clip table of an export, optionally only some parts and exercises (index reset)."""
    clips = pd.read_parquet(Path(export) / "clips.parquet", columns=list(columns) if columns else None)
    if split is not None:
        clips = clips[clips["split"].isin([split] if isinstance(split, str) else list(split))]
    if exercises is not None:
        clips = clips[clips["exercise"].isin(list(exercises))]
    return clips.reset_index(drop=True)


def score_norm(score, score_min, score_max) -> np.ndarray:
    """Scores mapped to 0..1 of their own scale; NaN without a score or with an empty scale."""
    score, lo, hi = (np.asarray(v, np.float64) for v in (score, score_min, score_max))
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(score) & (span > 0), (score - lo) / np.where(span > 0, span, 1.0), np.nan)


def unit_items(clips: pd.DataFrame, views: Sequence[str] | None) -> list[np.ndarray]:
    """Rows of ``clips`` per item: units with a clip for every view in ``views`` (in that order),
    or every clip alone (``views=None``)."""
    if views is None:
        return [np.array([r]) for r in range(len(clips))]
    picked = clips[clips["view"].isin(views)]
    items = []
    for _, group in picked.groupby("unit", sort=True):
        by_view = dict(zip(group["view"], group.index))
        if all(v in by_view for v in views):
            items.append(np.array([by_view[v] for v in views]))
    return items


def open_array(root: Path, name: str) -> np.ndarray:
    """An array of the export, memory-mapped read-only.

    Raises:
        InputError: If the export does not have it.
    """
    path = root / name
    if not path.is_file():
        raise InputError(f"the export has no {name}", path=root, hint="export again without turning that array off")
    return np.load(path, mmap_mode="r")


class _ArrayDataset(TorchDataset):
    """What the datasets share: the export's metadata, its clip table, lazily opened arrays."""

    def __init__(self, export_dir: str | Path, split: str | Sequence[str] | None = None,
                 exercises: Sequence[str] | None = None):
        self.root = Path(export_dir)
        self.meta = read_meta(self.root)
        self.clips = read_clips(self.root, split=split, exercises=exercises)
        self._arrays: dict[str, np.ndarray] = {}

    def _array(self, name: str) -> np.ndarray:
        # opened on first use in each DataLoader worker: a memmap is cheap to open, and not shared
        if name not in self._arrays:
            self._arrays[name] = open_array(self.root, name)
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
        return {
            "criteria": torch.from_numpy((crit == 1).astype(np.float32)),
            "criteria_mask": torch.from_numpy(crit >= 0),
            "score": torch.tensor(float(first["score"]) if pd.notna(first["score"]) else float("nan")),
            "score_norm": torch.tensor(float(score_norm(first["score"], first["score_min"], first["score_max"]))),
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
        self.items = unit_items(self.clips, self.views)
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
        video = self._array(VIDEO)
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

    def __getitem__(self, i: int) -> dict:
        rows = self.items[i]
        idx = self.clips["row"].to_numpy()[rows]
        pose = torch.from_numpy(np.stack([self._array(POSES)[r] for r in idx]))
        valid = np.stack([self._array(POSE_VALID)[r] for r in idx])
        if self.normalize:
            from gymdata.features import normalize_landmarks

            pose = normalize_landmarks(pose).float()
        item = {"pose": pose, "valid": torch.from_numpy(valid), **self._labels(self.clips.iloc[rows])}
        return self.transform(item) if self.transform else item


class FrameStateDataset(_ArrayDataset):
    """Single frames with their Active (1) / Resting (0) label, for frame-level state models.

    An item has ``landmarks`` float (33, 4), ``state`` int, ``exercise`` int, ``clip`` int (the
    frame's clip row, to regroup frames into sequences).
    """

    def __init__(self, export_dir, *, split=None, exercises=None):
        super().__init__(export_dir, split=split, exercises=exercises)
        if not (self.root / FRAME_STATES).is_file():
            raise InputError("the export has no frame states", path=self.root,
                             hint="states come from state or repetition segments and poses of the clips")
        clip_of = np.load(self.root / FRAME_CLIPS)
        keep = np.isin(clip_of, self.clips["row"].to_numpy())
        self.frames = np.flatnonzero(keep)
        self._exercise = dict(zip(self.clips["row"], self.clips["exercise_id"]))
        self._clip_of = clip_of

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> dict:
        f = int(self.frames[i])
        clip = int(self._clip_of[f])
        return {"landmarks": torch.from_numpy(np.array(self._array(FRAME_LANDMARKS)[f])),
                "state": torch.tensor(int(self._array(FRAME_STATES)[f])),
                "exercise": torch.tensor(int(self._exercise[clip])), "clip": torch.tensor(clip)}

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All selected frames at once: landmarks (F, 33, 4), states (F,), clip rows (F,)."""
        return (np.asarray(self._array(FRAME_LANDMARKS)[self.frames]),
                np.asarray(self._array(FRAME_STATES)[self.frames]), self._clip_of[self.frames])


class ExportUnits(TorchDataset):
    """Units of an export as stacked batches, read with one memory-mapped gather per batch
    (``__getitems__``), which keeps a GPU fed far better than item-by-item reads.

    Units and labels are those of :class:`ClipDataset` (the same :func:`unit_items`, the same
    per-clip :func:`score_norm`). A batch is a dict: ``video`` uint8 ``(B, V, T, H, W, 3)``
    and/or ``pose`` float ``(B, V, T, 33, 4)``, ``criteria`` float ``(B, W)``, ``criteria_mask``
    bool ``(B, W)``, ``exercise`` long ``(B,)``, ``score`` float ``(B,)`` in 0..1 of the unit's
    own scale (NaN if none), ``index`` long ``(B,)``.

    Args:
        export: The export folder.
        split: Part(s) to keep (None: all).
        views: Views per unit in order, or None for every clip alone (V = 1).
        exercises: Exercises to keep (None: all).
        video, pose: Which arrays to read.

    Raises:
        InputError: If the export lacks an array asked for, or the selection has no unit.
    """

    def __init__(self, export: str | Path, *, split: str | Sequence[str] | None, views: Sequence[str] | None,
                 exercises: Sequence[str] | None = None, video: bool = True, pose: bool = False):
        self.root = Path(export)
        self.meta = read_meta(self.root)
        for wanted, name in ((video, VIDEO), (pose, POSES)):
            if wanted and not (self.root / name).is_file():
                raise InputError(f"the export has no {name}", path=self.root,
                                 hint="export again with -o video=true -o poses=true")
        clips = read_clips(self.root, split=split, exercises=exercises)
        items = unit_items(clips, tuple(views) if views else None)
        if not items:
            raise InputError(f"no items with views {tuple(views) if views else None} in the selection",
                             path=self.root, hint=f"views in this export: {', '.join(self.meta['views']) or 'none'}")
        self.items = np.stack(items).astype(np.int64)  # (N, V) rows of the clip table
        self.rows = clips["row"].to_numpy()[self.items]  # (N, V) rows of the arrays
        first = clips.iloc[self.items[:, 0]]
        width = int(self.meta.get("criteria_width") or 0)
        crit = np.array([list(c) for c in first["criteria"]], np.int64).reshape(len(first), width)
        self.criteria = (crit == 1).astype(np.float32)
        self.mask = crit >= 0
        self.exercise = first["exercise_id"].to_numpy(np.int64)
        self.score = score_norm(first["score"], first["score_min"], first["score_max"]).astype(np.float32)
        self.units = first["unit"].astype(str).tolist()
        self.subjects = first["subject"].astype("string").fillna("").tolist()
        self.video, self.pose = video, pose
        self._arrays: dict[str, np.ndarray] = {}
        for wanted, name in ((video, VIDEO), (pose, POSES)):
            if wanted:  # opened here, once: loader threads share the memory maps
                self._arrays[name] = open_array(self.root, name)

    def __len__(self) -> int:
        return len(self.items)

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        idx = np.asarray(indices, np.int64)
        rows = self.rows[idx]
        flat = rows.ravel()
        order = np.argsort(flat, kind="stable")  # read the memmap in file order, then put back
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        batch = {"criteria": torch.from_numpy(self.criteria[idx]), "criteria_mask": torch.from_numpy(self.mask[idx]),
                 "exercise": torch.from_numpy(self.exercise[idx]), "score": torch.from_numpy(self.score[idx]),
                 "index": torch.from_numpy(idx)}
        for wanted, key, name in ((self.video, "video", VIDEO), (self.pose, "pose", POSES)):
            if wanted:
                data = self._arrays[name][flat[order]][back]
                batch[key] = torch.from_numpy(data.reshape(*rows.shape, *data.shape[1:]))
        return batch

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.__getitems__([i]).items()}


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
