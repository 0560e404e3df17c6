"""Pose extraction: MediaPipe BlazePose on the clips of a dataset (``gymdata pose NAME``).

The model is the legacy MediaPipe Pose solution of ``mediapipe==0.10.21`` with its bundled *full*
landmark model (``model_complexity=1``; 0 and 2 download their models at first use and fail
offline). One ``poses`` row is written per processed frame: 33 x (x, y, z, visibility),
world coordinates (null where no person was found), the detected flag and a ``source`` naming the
version and every parameter, e.g. ``mediapipe-0.10.21/full?mode=video&det=0.5&trk=0.5``.

The extraction of one clip (MediaPipe, its two modes, the second-person check) is
:mod:`gymdata.pose_worker`; this module runs it over a dataset and owns the ``poses`` rows.

Cache, resume, replace:

* Each clip's result is cached (:mod:`gymdata.cache`) under the hash of the clip's bytes plus the
  model, version and parameters, as soon as the clip is done. The cache lives in
  ``$GYMDATA_HOME/cache/pose`` unless ``--cache-dir`` or ``$GYMDATA_POSE_CACHE`` says otherwise,
  and is shared by all datasets: a rerun, or the same clip in another dataset or under another name,
  costs nothing.
* The ``poses`` table is committed from the results in batches (atomic store transactions). An
  interrupted run has lost at most the clips in flight; the next run reads the others from the
  cache. Each commit replaces the clips' earlier MediaPipe rows (sources starting with
  ``mediapipe``) and keeps rows of other sources (e.g. ``corpus`` poses shipped with ALEX-GYM-1).
* Each clip's quality (:func:`clip_quality`: detection rate, visibility, motion, jumps of the hip
  centre, a second person in frame, and flags drawn from them) and cache key go into
  ``videos.extras["pose"]`` in the same commit; a rerun whose clips are cached *and* already
  committed writes nothing. The second-person check looks again at up to 3 frames per clip with the
  tracked person painted out (:func:`other_person`, one static-mode inference each; clips under 32
  frames are not checked).

Parallelism: ``-j N`` worker processes (:func:`gymdata.runner.run_tasks`, spawn), one clip per
task; inside a worker the next frames are decoded in a thread while MediaPipe (which releases the
GIL) runs. ``--engine ray`` sends the same tasks to Ray: a local Ray, or the cluster named by
``RAY_ADDRESS``; the clips' paths must then be readable from every node, at the same paths. Results
come back to the driver, which commits them and stores each in its own cache; a cache folder shared
by the nodes also lets a worker find what another computed. Unreadable clips are reported and
skipped.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np

from gymdata import store
from gymdata.cache import ResultCache, file_signature, result_key
from gymdata.errors import GymdataError, InputError
from gymdata.media import MediaInfo, clip_files
from gymdata.output import emit, json_option
from gymdata.pose_worker import (  # noqa: F401 (the extraction's public names, as gymdata.pose always had them)
    DETECTION_CONFIDENCE,
    MEDIAPIPE_VERSION,
    MODEL,
    SOURCE_PREFIX,
    TRACKING_CONFIDENCE,
    ClipJob,
    ClipResult,
    PoseParams,
    _estimator,
    extract_clip,
)
from gymdata.runner import ENGINES, run_tasks
from gymdata.skeleton import (
    BLAZEPOSE33,
    BODY_JOINTS,
    LAYOUT_JOINTS,
    LEFT_HIP,
    LEFT_SHOULDER,
    NUM_LANDMARKS,
    RIGHT_HIP,
    RIGHT_SHOULDER,
)

#: Rows per ``poses`` commit (about 1 KB each in memory before the commit).
BATCH_FRAMES = 50_000
#: Version of :func:`clip_quality`'s figures: a rerun recommits clips whose stored figures are older.
QUALITY_VERSION = 2
#: Thresholds of the quality flags (see :func:`clip_quality`), in torso lengths.
STATIC_MOTION = 0.25
JUMP_TORSOS = 0.75
LOW_DETECTION = 0.5
_PER_FRAME = ("frames", "landmarks", "world", "detected")


# -- quality flags ----------------------------------------------------------------------------

_BODY = list(BODY_JOINTS)  # shoulders, elbows, wrists, hips, knees, ankles


def clip_quality(arrays: dict[str, np.ndarray], width: int | None = None, height: int | None = None) -> dict:
    """Per-clip quality figures and flags from its landmarks.

    Positions are made isotropic (x times width / height) and measured in torso lengths (median
    shoulder-mid to hip-mid distance over the detected frames), so the figures do not depend on the
    resolution or on how large the person is in the frame.

    Returns:
        A JSON-able dict: ``frames``, ``detected``, ``detection_rate``, ``mean_visibility`` (mean of
        the 33 visibilities over detected frames), ``motion`` (the 10-90 percentile range of the
        position of the second most-moving of the 12 limb joints, in torso lengths: an exercise that
        moves only the arms still moves two joints), ``jumps`` (frame-to-frame moves
        of the hip centre larger than ``JUMP_TORSOS`` torso lengths: a switch to another person or a
        cut), ``lost`` (times the person was lost after being found), ``people_checked`` and
        ``other_person`` (frames looked at again with the tracked person masked out, and how many of
        them showed someone else: :func:`other_person`) and ``flags``: ``no_person``,
        ``low_detection`` (rate under ``LOW_DETECTION``), ``static`` (motion under ``STATIC_MOTION``:
        a hold such as a plank, or a still camera on no exercise), ``multiple_people`` (another person
        in at least half the checked frames: the landmarks may belong to either) and
        ``unstable_track`` (two jumps or more: several people, cuts or a moving camera).
    """
    lm = arrays["landmarks"]
    det = arrays["detected"].astype(bool)
    n, nd = len(det), int(det.sum())
    checked = len(arrays.get("people_checked", ()))
    others = int(np.sum(arrays.get("people_other", ())))
    out: dict[str, Any] = {"frames": n, "detected": nd, "detection_rate": round(nd / n, 4) if n else 0.0,
                           "people_checked": checked, "other_person": others}
    flags = []
    if nd == 0:
        out.update(mean_visibility=0.0, motion=None, jumps=0, lost=0, flags=["no_person"])
        return out
    aspect = (width / height) if width and height else 1.0
    xy = lm[det][..., :2].astype(np.float64) * np.array([aspect, 1.0])
    hip = xy[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)
    torso = float(np.median(np.linalg.norm(xy[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=1) - hip, axis=-1)))
    torso = max(torso, 1e-3)
    spread = np.percentile(xy[:, _BODY], 90, axis=0) - np.percentile(xy[:, _BODY], 10, axis=0)
    motion = float(np.sort(np.linalg.norm(spread, axis=-1))[-2] / torso)  # 2nd most-moving joint: a curl moves
    # between adjacent frames only: a gap counts in `lost`, and sampled frames lie too far apart
    adjacent = np.diff(arrays["frames"][det]) == 1
    steps = np.linalg.norm(np.diff(hip, axis=0), axis=-1) / torso
    jumps = int(np.sum((steps > JUMP_TORSOS) & adjacent))
    lost = int(np.sum(det[:-1] & ~det[1:]))
    if nd / n < LOW_DETECTION:
        flags.append("low_detection")
    if motion < STATIC_MOTION and nd >= 2:
        flags.append("static")
    if checked and 2 * others >= checked:
        flags.append("multiple_people")
    if jumps >= 2:
        flags.append("unstable_track")
    out.update(mean_visibility=round(float(lm[det][..., 3].mean()), 4), motion=round(motion, 4),
               jumps=jumps, lost=lost, flags=flags)
    return out


# -- in the driver ----------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$GYMDATA_POSE_CACHE``, else ``$GYMDATA_HOME/cache/pose``."""
    env = os.environ.get("GYMDATA_POSE_CACHE")
    return Path(env).absolute() if env else store.home() / "cache" / "pose"


def poses_table(video_ids: Sequence[str], results: Sequence[Mapping[str, np.ndarray] | np.ndarray], source: str,
                *, layout: str = BLAZEPOSE33):
    """The one builder of ``poses`` rows: an Arrow table from per-clip arrays, built column-wise from numpy.

    Used by ``gymdata pose`` (MediaPipe results) and by the importers of corpora that ship poses.

    Args:
        video_ids: One clip id per entry of ``results``.
        results: Per clip, a dict of arrays, or only its landmarks array:

            * ``landmarks`` (N, J, 4) x, y, z, visibility, or (N, J, 3) x, y, z (visibility then NaN:
              the corpus gives none), J the layout's joints;
            * ``frames`` (N,) frame indices (default 0 .. N-1);
            * ``detected`` (N,) bool (default: some coordinate of the frame is finite and not 0, as
              corpora store an undetected frame as zeros or NaN);
            * ``world`` (N, J, 3) metres (stored for detected frames; default null).
        source: The rows' ``source`` (e.g. :attr:`PoseParams.source`, ``corpus``, ``mocap``).
        layout: The joint layout (:data:`gymdata.skeleton.LAYOUT_JOINTS`).

    Returns:
        A ``pyarrow.Table`` with the ``poses`` columns (not yet conformed: the store does that).
    """
    import pyarrow as pa

    joints = LAYOUT_JOINTS[layout]
    clips = [r if isinstance(r, Mapping) else {"landmarks": r} for r in results]
    counts = np.array([len(c["landmarks"]) for c in clips], np.int64)
    n = int(counts.sum())
    lm = [np.asarray(c["landmarks"], np.float32) for c in clips]
    bad = [a.shape for a in lm if a.ndim != 3 or a.shape[1] != joints or a.shape[2] not in (3, 4)]
    if bad:
        raise ValueError(f"landmarks of shape {bad[0]}: expected (frames, {joints}, 3 or 4) for layout {layout}")
    lm = [a if a.shape[2] == 4 else np.concatenate([a, np.full(a.shape[:2] + (1,), np.nan, np.float32)], axis=2)
          for a in lm]
    frames = [np.asarray(c["frames"]) if "frames" in c else np.arange(len(a), dtype=np.int32)
              for c, a in zip(clips, lm)]
    det = [np.asarray(c["detected"], bool) if "detected" in c
           else np.any(np.nan_to_num(a[..., :3], nan=0.0) != 0, axis=(1, 2)) for c, a in zip(clips, lm)]
    has_world = [np.asarray(d) & ("world" in c) for c, d in zip(clips, det)]
    world = [np.asarray(c["world"], np.float32)[w].reshape(-1) for c, w in zip(clips, has_world) if "world" in c]

    def flat(parts: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate([p.reshape(-1) for p in parts]).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    det_all, world_rows = flat(det, bool), flat(has_world, bool)
    world_offsets = np.concatenate([[0], np.cumsum(np.where(world_rows, joints * 3, 0))]).astype(np.int32)
    return pa.table({
        "video_id": pa.array(np.repeat(np.array(list(video_ids), dtype=object), counts), pa.string()),
        "frame": pa.array(flat(frames, np.int32), pa.int32()),
        "layout": pa.repeat(pa.scalar(layout), n),
        "landmarks": pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * joints * 4),
                                              pa.array(flat(lm, np.float32), pa.float32())),
        "world": pa.ListArray.from_arrays(pa.array(world_offsets), pa.array(flat(world, np.float32), pa.float32()),
                                          mask=pa.array(~world_rows)),
        "detected": pa.array(det_all, pa.bool_()),
        "source": pa.repeat(pa.scalar(source), n),
    })


@dataclass
class FilePoses:
    """BlazePose landmarks of one video file (:func:`file_poses`).

    Attributes:
        info: The probed video (fps, frame count, size).
        frames: (N,) the frame indices processed (every frame, or the distinct sampled ones).
        landmarks: (N, 33, 4) x, y, z, visibility (zeros where no person was found).
        world: (N, 33, 3) metres (zeros where none).
        detected: (N,) whether a person was found.
        params: The extraction parameters (their :attr:`PoseParams.source` names them).
    """

    info: MediaInfo
    frames: np.ndarray
    landmarks: np.ndarray
    world: np.ndarray
    detected: np.ndarray
    params: PoseParams

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks ``(F, 33, 4)`` and detected ``(F,)`` indexed by frame number (F the video's frame
        count, or more if decoding found more frames than the header said); unprocessed frames are zeros."""
        n = max(self.info.num_frames, int(self.frames.max()) + 1 if len(self.frames) else 0)
        lm = np.zeros((n, NUM_LANDMARKS, 4), np.float32)
        det = np.zeros(n, bool)
        lm[self.frames] = self.landmarks
        det[self.frames] = self.detected
        return lm, det


def file_poses(path: str | Path, *, frames: int | None = None, cache_dir: str | Path | None = None,
               info: MediaInfo | None = None) -> FilePoses:
    """BlazePose landmarks of one video file (no dataset needed), through the shared pose cache.

    The same extraction as ``gymdata pose`` (:func:`extract_clip`, cached by the file's content), so a
    video already processed in a dataset, under any name, costs nothing here and gives the same rows.

    Args:
        path: The video file.
        frames: Process T uniformly sampled frames (static image mode) instead of every frame (video
            mode); a clip with at most T frames is processed whole in video mode.
        cache_dir: Pose cache (default :func:`default_cache_dir`).
        info: The file's probe, when the caller has it already (else probed here).

    Returns:
        A :class:`FilePoses`.

    Raises:
        InputError, CorruptMediaError: If the file cannot be read, or ``frames`` is under 1.
    """
    from gymdata.media import probe_video

    if frames is not None and frames < 1:
        raise InputError(f"--frames must be at least 1, not {frames}")
    path = Path(path).absolute()
    info = info or probe_video(path)
    params = PoseParams(frames if frames and frames < info.num_frames else None)
    files = (str(path),)
    cache = ResultCache(cache_dir or default_cache_dir())
    signature = file_signature(files)
    job = ClipJob(path.name, files, "video", info.num_frames, params, str(cache.root), signature,
                  cache.known_hash(signature))
    result = extract_clip(job)
    cache.remember(result.signature, result.content)  # the next call skips hashing the file
    a = result.arrays
    return FilePoses(info, np.asarray(a["frames"]), np.asarray(a["landmarks"]), np.asarray(a["world"]),
                     np.asarray(a["detected"], bool), params)


@dataclass
class PoseReport:
    """What ``gymdata pose`` did."""

    dataset: str
    source: str
    clips: int = 0
    extracted: int = 0
    cached: int = 0
    up_to_date: int = 0
    frames: int = 0
    detected: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    quality: dict[str, dict] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The summary, as printed by the CLI."""
        rate = f"{self.detected / self.frames:.1%}" if self.frames else "-"
        fps = f"{self.frames / self.seconds:,.0f}" if self.seconds > 0 else "-"
        out = [
            (f"pose {self.dataset!r} ({self.source}): {self.clips} clip(s): {self.extracted} extracted, "
             f"{self.cached} from the cache ({self.up_to_date} already in the dataset), {len(self.failed)} failed"),
            f"  {self.frames:,} frames, person detected in {rate}, {self.seconds:.1f} s ({fps} frames/s)",
        ]
        if self.flagged:
            out.append(f"flagged {len(self.flagged)} clip(s):")
            for vid, flags in sorted(self.flagged.items()):
                q = self.quality.get(vid, {})
                out.append(f"  {vid}: {', '.join(flags)} (person in {q.get('detection_rate', 0):.0%} of frames, "
                           f"motion {q.get('motion') if q.get('motion') is not None else '-'}, "
                           f"hip jumps {q.get('jumps', 0)}, someone else in {q.get('other_person', 0)}/"
                           f"{q.get('people_checked', 0)} checked frames)")
        if self.failed:
            out.append(f"failed {len(self.failed)} clip(s) (skipped):")
            out += [f"  {vid}: {why}" for vid, why in sorted(self.failed)]
        return out


class _Committer:
    """Collects clip results and commits them to the dataset in batches (one transaction each)."""

    def __init__(self, ds: store.Dataset, params: PoseParams, info: dict[str, dict], report: PoseReport,
                 batch_frames: int):
        self.ds, self.params, self.info, self.report = ds, params, info, report
        self.batch_frames = batch_frames
        self.pending: list[tuple[str, str, dict[str, np.ndarray]]] = []
        self.pending_frames = 0

    def add(self, video_id: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        row = self.info[video_id]
        keep = arrays["frames"] < row["num_frames"]  # the dataset's frame count bounds the rows
        if not keep.all():
            arrays = {name: a[keep] if name in _PER_FRAME else a for name, a in arrays.items()}
        quality = clip_quality(arrays, row["width"], row["height"])
        quality.update(source=self.params.source, key=key, version=QUALITY_VERSION)
        self.report.quality[video_id] = quality
        self.report.frames += quality["frames"]
        self.report.detected += quality["detected"]
        if quality["flags"]:
            self.report.flagged[video_id] = quality["flags"]
        self.pending.append((video_id, key, arrays))
        self.pending_frames += len(arrays["frames"])
        if self.pending_frames >= self.batch_frames:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = [vid for vid, _, _ in self.pending]
        table = poses_table(ids, [a for _, _, a in self.pending], self.params.source)
        with self.ds.transaction() as txn:
            txn.delete("poses", pc.field("video_id").isin(ids) & pc.starts_with(pc.field("source"), SOURCE_PREFIX))
            txn.append("poses", table)
            videos = self.ds.read("videos")
            extras = videos.column("extras").to_pylist()
            for i, vid in enumerate(videos.column("video_id").to_pylist()):
                if vid in self.report.quality and vid in ids:
                    doc = json.loads(extras[i]) if extras[i] else {}
                    doc["pose"] = self.report.quality[vid]
                    extras[i] = json.dumps(doc)
            txn.write("videos", videos.set_column(videos.schema.get_field_index("extras"), "extras",
                                                  pa.array(extras, pa.string())))
        self.pending, self.pending_frames = [], 0


def extract_poses(
    name: str,
    *,
    workers: int = 1,
    frames: int | None = None,
    engine: str = "local",
    force: bool = False,
    cache_dir: str | Path | None = None,
    video_ids: Iterable[str] | None = None,
    progress: bool = True,
    batch_frames: int = BATCH_FRAMES,
) -> PoseReport:
    """Extract BlazePose landmarks for the clips of a dataset (see the module docstring).

    Args:
        name: Dataset name.
        workers: Worker processes (``engine='local'``).
        frames: Sample T frames per clip (static image mode) instead of every frame (video mode).
        engine: ``local`` (process pool) or ``ray``.
        force: Recompute every clip, ignoring (and overwriting) the cache.
        cache_dir: Cache folder (default :func:`default_cache_dir`).
        video_ids: Only these clips (default all).
        progress: Show a progress bar.
        batch_frames: Rows per commit of the ``poses`` table.

    Returns:
        A :class:`PoseReport` (clips extracted, cached, failed with reasons, frames, flags, time).

    Raises:
        DatasetNotFoundError: If there is no such dataset.
        InputError: On a bad option.
    """
    start = time.perf_counter()
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}", hint=f"use one of {', '.join(ENGINES)}")
    if frames is not None and frames < 1:
        raise InputError(f"--frames must be at least 1, not {frames}")
    ds = store.open_dataset(name)
    params = PoseParams(frames)
    report = PoseReport(ds.name, params.source)
    if not ds.has("videos"):
        return report
    cache = ResultCache(cache_dir or default_cache_dir())
    videos = _read_parts(ds, "videos", ["video_id", "corpus", "path", "media_kind", "num_frames", "width", "height",
                                        "extras"]).to_pylist()
    if video_ids is not None:
        wanted = set(video_ids)
        unknown = wanted - {v["video_id"] for v in videos}
        if unknown:
            raise InputError(f"unknown video_id(s) {', '.join(sorted(unknown)[:5])} in dataset {name!r}")
        videos = [v for v in videos if v["video_id"] in wanted]
    # pose-only clips (media_kind 'poses') have their corpus's landmarks and no media to run on
    videos = [v for v in videos if v["media_kind"] != "poses"]
    info = {v["video_id"]: v for v in videos}
    report.clips = len(videos)
    committer = _Committer(ds, params, info, report, batch_frames)
    jobs, hits = [], []
    for v in videos:
        vid = v["video_id"]
        try:
            files = tuple(str(f) for f in clip_files(ds.resolve(v["corpus"], v["path"]), v["media_kind"]))
            signature = file_signature(files)
        except (GymdataError, OSError) as exc:
            report.failed.append((vid, str(exc)))
            continue
        content = cache.known_hash(signature)
        job = ClipJob(vid, files, v["media_kind"], int(v["num_frames"]), params, str(cache.root), signature,
                      content, force)
        key = content and result_key(content, params.key_params(job.num_frames))
        if key and not force and cache.has(key):
            hits.append((job, key))
        else:
            jobs.append(job)
    try:
        for job, key in hits:  # known content, result in the cache: no worker needed
            done = _committed(info[job.video_id]["extras"])
            if (done.get("key"), done.get("source"), done.get("version")) == (key, params.source, QUALITY_VERSION):
                report.cached += 1
                report.up_to_date += 1
                _count_committed(report, job.video_id, done)
                continue
            arrays = cache.load(key)
            if arrays is None:  # unreadable cache file: compute the clip again
                jobs.append(job)
                continue
            report.cached += 1
            committer.add(job.video_id, key, arrays)
        jobs.sort(key=lambda j: -j.num_frames)  # longest first: no long clip left alone at the end
        for outcome in run_tasks(extract_clip, jobs, workers=workers, engine=engine, desc="pose", unit="clip",
                                 progress=progress, chunksize=1, count=lambda r: r.frames):
            if not outcome.ok:
                report.failed.append((outcome.item.video_id, outcome.error))
                continue
            res: ClipResult = outcome.value
            cache.remember(res.signature, res.content)
            if not cache.has(res.key):  # computed on another node (Ray) with its own cache
                cache.save(res.key, res.arrays)
            if res.cached:
                report.cached += 1
            else:
                report.extracted += 1
            committer.add(res.video_id, res.key, res.arrays)
    finally:
        committer.flush()  # on an interrupt too: finished clips are kept
        report.seconds = time.perf_counter() - start
    return report


def _read_parts(ds: store.Dataset, table: str, columns: list[str]):
    """Columns of a table read part by part with ``pyarrow.parquet``. Unlike :meth:`Dataset.read`
    this needs no ``pyarrow.dataset``, whose import (it pulls in pandas) would double the time of a
    rerun that finds everything cached."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gymdata.schema import TABLES

    schema = pa.schema([TABLES[table].schema.field(c) for c in columns])
    parts = [pq.ParquetFile(ds.path / "tables" / table / name).read(columns=columns).cast(schema)
             for name in ds.meta["tables"].get(table, {}).get("parts", [])]
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _committed(extras: str | None) -> dict:
    try:
        doc = json.loads(extras) if extras else {}
    except ValueError:
        return {}
    pose = doc.get("pose") if isinstance(doc, dict) else None
    return pose if isinstance(pose, dict) else {}


def _count_committed(report: PoseReport, vid: str, quality: dict) -> None:
    report.quality[vid] = quality
    report.frames += int(quality.get("frames", 0))
    report.detected += int(quality.get("detected", 0))
    if quality.get("flags"):
        report.flagged[vid] = list(quality["flags"])


@click.command("pose")
@click.argument("name")
@click.option("-j", "--workers", default=1, show_default=True, help="Worker processes (local engine).")
@click.option("--frames", "frames", type=int, default=None,
              help="Sample T frames per clip uniformly (static image mode) instead of every frame.")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: process pool; ray: Ray tasks (local Ray, or the cluster in RAY_ADDRESS).")
@click.option("--force", is_flag=True, help="Recompute every clip, ignoring the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache folder (default $GYMDATA_POSE_CACHE or $GYMDATA_HOME/cache/pose).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def command(name: str, workers: int, frames: int | None, engine: str, force: bool, cache_dir: Path | None,
            quiet: bool, as_json: bool) -> None:
    """Extract MediaPipe BlazePose landmarks for every clip of dataset NAME.

    Every frame in video (tracking) mode, or T sampled frames with --frames T. Results are cached by
    clip content, committed in batches (rerun to resume after an interruption), and replace earlier
    MediaPipe poses of the same clips; poses from other sources are kept.
    """
    report = extract_poses(name, workers=workers, frames=frames, engine=engine, force=force, cache_dir=cache_dir,
                           progress=not quiet)
    emit(report, report.lines())
