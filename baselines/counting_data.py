"""Counting with datasets and video files: true counts, frame labels for training, counting every
clip of a dataset or one video file, storing the results as segments, and loading a trained
counter from its run.

True counts come from a clip's current ground-truth repetition segments
(:func:`gymdata.labels.rep_counts`), else from a corpus's count (``videos.extras.rep_count``).
``count --write`` stores repetitions (kind ``repetition``, label ``rep``) and states (kind
``state``, labels ``A``/``R``) in the ``segments`` table with origin ``model`` and annotator =
the run id or ``periodic``, replacing that annotator's earlier segments of the same clips in one
atomic transaction.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baselines.counting import DEFAULT_FPS, CountResult, PeriodicCounter, count_metrics
from baselines.runs import run_path
from gymdata import labels, store
from gymdata.errors import InputError


#: Counting models: the run's ``config.json`` ``model`` -> the class that loads it (``module:Class``).
COUNTING_MODELS = {"gmm": "baselines.gmm:GMMCounter", "poserac": "baselines.poserac:PoseRACCounter"}


def load_counter(run: str | Path):
    """The counter saved in a run folder (``gmm`` and ``poserac`` runs hold one).

    Raises:
        InputError: If the run does not exist or is not a counting model.
    """
    path = run_path(run)
    try:
        config = json.loads((path / "config.json").read_bytes())
    except ValueError as exc:
        raise InputError(f"config.json is damaged (not valid JSON: {exc})", path=path / "config.json",
                         hint="train the counter again (gymdata train poserac|gmm)") from None
    config = config if isinstance(config, dict) else {}
    model = config.get("model")
    if model not in COUNTING_MODELS:
        raise InputError(f"run {path.name!r} is a {model!r} model, not a repetition counter", path=path,
                         hint="train one with: gymdata train poserac --data NAME (or gymdata train gmm)")
    module, cls = COUNTING_MODELS[model].split(":")  # a fixed table in this module, never a name read from a file
    return getattr(importlib.import_module(module), cls).load(path)


def true_counts(ds: store.Dataset, video_ids: Iterable[str] | None = None) -> dict[str, int]:
    """Repetition counts per clip: its current ground-truth repetition segments
    (:func:`gymdata.labels.rep_counts`; model-made segments never count as truth)."""
    counts = labels.rep_counts(ds, None if video_ids is None else list(video_ids))
    return {str(vid): int(n) for vid, n in counts.items()}


def expected_counts(ds: store.Dataset, video_ids: Iterable[str] | None = None) -> dict[str, int]:
    """True counts per clip: :func:`true_counts` (from segments) where it has one, else the count a
    corpus gave without repetition bounds (``videos.extras.rep_count``, e.g. the pose-counting and
    RepCount CSVs' ``count`` column)."""
    filt = None if video_ids is None else {"video_id": list(video_ids)}
    out = {}
    for row in ds.read("videos", columns=["video_id", "extras"], filter=filt).to_pylist():
        try:
            extras = json.loads(row["extras"]) if row["extras"] else {}
        except ValueError:
            continue
        count = extras.get("rep_count") if isinstance(extras, dict) else None
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            out[row["video_id"]] = count
    out.update(true_counts(ds, video_ids))
    return out


def clip_info(ds: store.Dataset, video_ids: Iterable[str] | None = None) -> list[dict]:
    """The ``videos`` rows needed for counting (id, exercise, fps, frame size, frame count)."""
    filt = None if video_ids is None else {"video_id": list(video_ids)}
    return ds.read("videos", columns=["video_id", "exercise", "fps", "width", "height", "num_frames", "split"],
                   filter=filt).to_pylist()


def count_clip(counter, landmarks: np.ndarray, clip: Mapping[str, Any]) -> CountResult:
    """Count one clip with ``counter`` (a :class:`PeriodicCounter` or a GMM counter, which falls
    back to the periodic counter for exercises it was not trained on), given its ``videos`` row."""
    return counter.count(landmarks, fps=clip.get("fps"), width=clip.get("width"), height=clip.get("height"),
                         exercise=clip.get("exercise"))


def count_dataset(ds: store.Dataset, counter=None, video_ids: Iterable[str] | None = None
                  ) -> list[tuple[dict, CountResult]]:
    """Count every clip of a dataset that has poses.

    Args:
        ds: The dataset.
        counter: A counter (default :class:`PeriodicCounter`).
        video_ids: Only these clips.

    Returns:
        ``(clip info, result)`` per clip with poses, in ``video_id`` order.

    Raises:
        InputError: If the dataset has no poses (or none for the clips asked for).
    """
    from gymdata.features import load_pose_sequences

    counter = counter or PeriodicCounter()
    clips = clip_info(ds, video_ids)
    if video_ids is not None:
        unknown = set(video_ids) - {c["video_id"] for c in clips}
        if unknown:
            raise InputError(f"unknown clip(s) {', '.join(sorted(unknown)[:5])} in dataset {ds.name!r}")
    poses = load_pose_sequences(ds, [c["video_id"] for c in clips])
    if not poses:
        raise InputError(f"dataset {ds.name!r} has no poses to count from",
                         hint=f"extract them first: gymdata pose {ds.name}")
    return [(c, count_clip(counter, poses[c["video_id"]], c))
            for c in sorted(clips, key=lambda c: c["video_id"]) if c["video_id"] in poses]


def segment_rows(video_id: str, result: CountResult, annotator: str, created_at: dt.datetime) -> list[dict]:
    """``segments`` rows for a result: one ``repetition``/``rep`` per repetition and one ``state``
    row (``A``/``R``) per state run, origin ``model``."""
    base = {"video_id": video_id, "origin": "model", "annotator": annotator, "created_at": created_at}
    rows = [{**base, "kind": "repetition", "label": "rep", "start_frame": s, "end_frame": e} for s, e in result.reps]
    rows += [{**base, "kind": "state", "label": lab, "start_frame": s, "end_frame": e} for s, e, lab in result.states]
    return rows


def write_segments(ds: store.Dataset, results: Mapping[str, CountResult]) -> int:
    """Store counting results as model segments, annotated by each result's counter (a run id or
    ``periodic``), replacing that annotator's earlier model segments of the same clips, in one
    atomic transaction.

    Returns:
        The number of rows written.
    """
    import pyarrow.compute as pc

    stamp = store.now()
    rows = [r for vid, res in results.items() for r in segment_rows(vid, res, res.counter, stamp)]
    clips_of: dict[str, list[str]] = {}
    for vid, res in results.items():
        clips_of.setdefault(res.counter, []).append(vid)
    earlier = None
    for annotator, vids in clips_of.items():
        term = (pc.field("annotator") == annotator) & pc.field("video_id").isin(vids)
        earlier = term if earlier is None else earlier | term
    with ds.transaction() as txn:
        if earlier is not None:
            txn.delete("segments", (pc.field("origin") == "model") & earlier)
        txn.append("segments", rows)
    return len(rows)


def video_poses(path: str | Path, frames: int | None = None, cache_dir: str | Path | None = None
                ) -> tuple[dict, np.ndarray, np.ndarray]:
    """Landmarks of one video file through :func:`gymdata.pose.file_poses` (cached by content).

    Args:
        path: The video file.
        frames: Process T uniformly sampled frames (static image mode) instead of every frame.
        cache_dir: Pose cache (default :func:`gymdata.pose.default_cache_dir`).

    Returns:
        The probed media info (dict), the frame indices processed ``(N,)`` and their landmarks
        ``(N, 33, 4)``.

    Raises:
        InputError, CorruptMediaError: If the file cannot be read.
    """
    from gymdata.pose import file_poses

    if frames is not None and frames < 2:  # a period needs two frames at least
        raise InputError(f"--frames must be at least 2, not {frames}")
    poses = file_poses(path, frames=frames, cache_dir=cache_dir)
    return poses.info.asdict(), poses.frames, poses.landmarks


def count_video(path: str | Path, counter=None, *, exercise: str | None = None, frames: int | None = None,
                cache_dir: str | Path | None = None) -> dict:
    """Extract poses from a video file and count its repetitions.

    With sampled frames, counting runs on the sampled sequence (at the sampled rate) and the
    segments are mapped back to the video's frame numbers.

    Returns:
        A JSON-able dict: the video's path and media info, the counter, the count, ``reps`` and
        ``states`` in video frame numbers, the period (seconds), the periodicity and, for a 0, why.
    """
    counter = counter or PeriodicCounter()
    info, index, landmarks = video_poses(path, frames, cache_dir)
    fps = info["fps"] or DEFAULT_FPS
    span = (index[-1] - index[0]) if len(index) > 1 else 0
    step = span / (len(index) - 1) if len(index) > 1 else 1.0
    clip = {"fps": fps / step if step else fps, "width": info["width"], "height": info["height"],
            "exercise": exercise}
    res = count_clip(counter, landmarks, clip)

    def frame(i: int) -> int:
        return int(index[min(max(i, 0), len(index) - 1)])

    def end_frame(i: int) -> int:  # a run ends just before the next processed frame starts
        return int(index[i + 1] - 1) if i + 1 < len(index) else int(info["num_frames"] - 1)

    return {
        "video": str(path), **info, "frames_processed": len(index),
        "counter": res.counter, "count": res.count,
        "reps": [[frame(s), frame(e)] for s, e in res.reps],
        "states": [[frame(s), end_frame(e), lab] for s, e, lab in res.states],
        "period_s": round(res.period * step / fps, 3) if res.period else None,
        "periodicity": None if res.periodicity is None else round(res.periodicity, 3),
        "reason": res.reason,
    }


def count_report(ds: store.Dataset, results: Sequence[tuple[dict, CountResult]]) -> dict:
    """The report of a dataset count: per clip, per exercise and overall (MAE/OBO where true
    counts exist, :func:`expected_counts`).

    Returns:
        ``{"dataset", "clips": [...], "exercises": [...], "all": {...}}``; each exercise row has
        its counter(s), clips, clips with a true count, MAE, OBO, the mean count and how many clips
        counted 0.
    """
    truth = expected_counts(ds, [c["video_id"] for c, _ in results])
    clips = []
    for clip, res in results:
        gt = truth.get(clip["video_id"])
        fps = clip.get("fps") or DEFAULT_FPS
        clips.append({"clip": clip["video_id"], "exercise": clip["exercise"], "counter": res.counter,
                      "count": res.count, "truth": gt, "error": None if gt is None else res.count - gt,
                      "period_s": None if res.period is None else round(res.period / fps, 2),
                      "note": res.reason or ""})

    def summary(rows: list[dict]) -> dict:
        scored = [r for r in rows if r["truth"] is not None]
        m = count_metrics([r["count"] for r in scored], [r["truth"] for r in scored]) if scored else {}
        return {"counter": ", ".join(sorted({r["counter"] for r in rows})), "clips": len(rows),
                "with_truth": len(scored), "mae": m.get("mae"), "obo": m.get("obo"),
                "mean_count": float(np.mean([r["count"] for r in rows])) if rows else None,
                "zero": sum(r["count"] == 0 for r in rows)}

    exercises = [{"exercise": ex, **summary([r for r in clips if r["exercise"] == ex])}
                 for ex in sorted({r["exercise"] for r in clips})]
    return {"dataset": ds.name, "clips": clips, "exercises": exercises, "all": summary(clips)}


def format_video_count(report: Mapping[str, Any]) -> str:
    """The one-line summary of :func:`count_video`'s report."""
    line = (f"{report['video']}: {report['count']} repetition(s) ({report['counter']} counter, "
            f"{report['frames_processed']} of {report['num_frames']} frames")
    if report.get("period_s"):
        line += f", period {report['period_s']:.2f} s"
    line += ")"
    if report.get("reason"):
        line += f"; {report['reason']}"
    return line + "  (--json: repetitions and A/R states)"


#: Share of a repetition, at each end, left unlabelled when A/R come from repetition bounds.
EDGE = 0.2


def masks_from_reps(n: int, reps: Iterable[tuple[int, int]], edge: float = EDGE) -> tuple[np.ndarray, np.ndarray]:
    """``(active, labelled)`` frame masks from repetition bounds: frames inside a repetition are
    Active, the others Resting, and the first and last ``edge`` of each repetition are left
    unlabelled (there the body is still close to the rest pose, and annotated bounds are loose)."""
    active, labelled = np.zeros(n, bool), np.ones(n, bool)
    for start, end in reps:
        start, end = max(int(start), 0), min(int(end), n - 1)
        margin = round(edge * (end - start + 1))
        active[start : end + 1] = True
        labelled[start : start + margin] = False
        labelled[max(end - margin + 1, start) : end + 1] = False
    return active, labelled


def labelled_masks(ds: store.Dataset, clips: Mapping[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per clip, ``(active, labelled)`` frame masks from its human or imported segments.

    ``state`` segments labelled A/R are used where a clip has them; otherwise its ``repetition``
    segments give the masks (:func:`masks_from_reps`).

    Args:
        ds: The dataset.
        clips: ``{video_id: number of frames}``.
    """
    if not ds.has("segments"):
        return {}
    seg = labels.current(ds, "segments", video_ids=list(clips))  # ground truth, as gymdata.labels resolves it
    seg = seg[seg["kind"].isin(["state", "repetition"])]
    out = {}
    for vid, group in seg.groupby("video_id"):
        n = int(clips[vid])
        active, labelled = np.zeros(n, bool), np.zeros(n, bool)
        states = group[(group["kind"] == "state") & group["label"].isin(["A", "R"])]
        if len(states):
            for row in states.itertuples():
                s, e = max(int(row.start_frame), 0), min(int(row.end_frame), n - 1)
                labelled[s : e + 1] = True
                active[s : e + 1] = row.label == "A"
        else:
            reps = group[group["kind"] == "repetition"]
            active, labelled = masks_from_reps(n, zip(reps["start_frame"], reps["end_frame"]))
        if labelled.any():
            out[str(vid)] = (active, labelled)
    return out
