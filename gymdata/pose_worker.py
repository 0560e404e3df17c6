"""One clip through MediaPipe BlazePose, cached by content: what a ``gymdata pose`` worker runs.

:func:`extract_clip` takes a picklable :class:`ClipJob` (sent to a worker process or a Ray task),
returns the clip's cached result or computes and caches it. :mod:`gymdata.pose` runs it over a
dataset (and :func:`gymdata.pose.file_poses` over one video file).

Two modes:

* **every frame** (default): video mode (``static_image_mode=False``). The detector runs on the
  first frame and whenever the track is lost; landmarks are tracked and smoothed in between. A worker
  keeps one ``Pose`` and calls ``reset()`` before each clip, which restarts the graph: no tracking or
  smoothing state crosses clips, and the results are those of a fresh ``Pose`` (a reset costs about
  0.1 s of CPU per clip; feeding a blank frame instead would be cheaper but leaves the visibility
  and world-landmark filters of the previous clip in place).
* ``--frames T``: T frames sampled uniformly, ``linspace(0, N-1, T)`` rounded, as the scoring
  projects sample. Each frame is processed on its own (``static_image_mode=True``): tracking and
  smoothing across frames that lie far apart would be meaningless. Only distinct indices are stored
  (a clip shorter than T repeats indices; :func:`gymdata.features.load_pose_sequences` re-expands
  them).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gymdata.cache import ResultCache, content_hash, result_key
from gymdata.errors import CorruptMediaError, InputError
from gymdata.logs import quiet_native_stderr
from gymdata.skeleton import BLAZEPOSE33, BODY_JOINTS, LEFT_HIP, NUM_LANDMARKS, RIGHT_HIP

MEDIAPIPE_VERSION = "0.10.21"
MODEL = "full"  # pose_landmark_full.tflite, model_complexity=1: the model bundled in the wheel
#: MediaPipe's defaults, as used by the scoring projects and most public code.
DETECTION_CONFIDENCE = 0.5
TRACKING_CONFIDENCE = 0.5
SOURCE_PREFIX = "mediapipe"
_PREFETCH = 4  # decoded frames queued ahead of MediaPipe in a worker
#: Frames per clip looked at again for a second person (:func:`other_person`), one per this many
#: processed frames, at most ``PEOPLE_CHECKS`` (each costs one static-mode inference).
PEOPLE_CHECKS = 3
PEOPLE_CHECK_MIN_FRAMES = 32
_BODY = list(BODY_JOINTS)  # shoulders, elbows, wrists, hips, knees, ankles


@dataclass(frozen=True)
class PoseParams:
    """What changes the result of an extraction (part of the cache key and of ``source``).

    Attributes:
        frames: T uniformly sampled frames per clip (static image mode), or None for every frame
            (video mode).
    """

    frames: int | None = None

    @property
    def static(self) -> bool:
        return self.frames is not None

    @property
    def source(self) -> str:
        """The ``poses.source`` of rows made with these parameters."""
        if self.static:
            query = f"mode=static&frames={self.frames}&det={DETECTION_CONFIDENCE}"
        else:
            query = f"mode=video&det={DETECTION_CONFIDENCE}&trk={TRACKING_CONFIDENCE}"
        return f"{SOURCE_PREFIX}-{MEDIAPIPE_VERSION}/{MODEL}?{query}"

    def key_params(self, num_frames: int) -> dict:
        """Parameters of the cache key (sampled indices depend on the clip's frame count)."""
        params = {"model": f"{SOURCE_PREFIX}-{MEDIAPIPE_VERSION}/{MODEL}", "static": self.static,
                  "det": DETECTION_CONFIDENCE, "trk": TRACKING_CONFIDENCE, "layout": f"{BLAZEPOSE33}/v1",
                  "people_checks": f"{PEOPLE_CHECKS}/{PEOPLE_CHECK_MIN_FRAMES}/v1"}
        if self.static:
            params.update(frames=self.frames, num_frames=int(num_frames))
        return params


@dataclass(frozen=True)
class ClipJob:
    """One clip to process (picklable: sent to worker processes or Ray tasks)."""

    video_id: str
    files: tuple[str, ...]  # the video file, or the frame images in order
    media_kind: str
    num_frames: int
    params: PoseParams
    cache_dir: str
    signature: str
    content: str | None = None  # content hash when the memo knows it
    force: bool = False


@dataclass
class ClipResult:
    """What a worker returns for a clip: the arrays and where they came from."""

    video_id: str
    key: str
    signature: str
    content: str
    arrays: dict[str, np.ndarray]
    cached: bool
    seconds: float = 0.0

    @property
    def frames(self) -> int:
        return len(self.arrays["frames"])


# -- in the worker ----------------------------------------------------------------------------

_ESTIMATORS: dict[bool, Any] = {}


def _estimator(static: bool):
    """This process's MediaPipe Pose for a mode (built once; MediaPipe is imported here only)."""
    if static not in _ESTIMATORS:
        import cv2

        cv2.setNumThreads(1)  # image decoding in the worker: one thread, the workers are the parallelism
        import mediapipe as mp

        if mp.__version__ != MEDIAPIPE_VERSION:
            raise InputError(f"mediapipe {mp.__version__} is installed, gymdata pose needs {MEDIAPIPE_VERSION}",
                             hint=f"pip install mediapipe=={MEDIAPIPE_VERSION} (the last release with the bundled model)")
        _ESTIMATORS[static] = mp.solutions.pose.Pose(
            static_image_mode=static, model_complexity=1, smooth_landmarks=True, enable_segmentation=False,
            min_detection_confidence=DETECTION_CONFIDENCE, min_tracking_confidence=TRACKING_CONFIDENCE)
    return _ESTIMATORS[static]


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterator, depth: int = _PREFETCH) -> Iterator:
    """Iterate ``items`` in a background thread, ``depth`` items ahead (decoding overlaps inference).

    Exceptions raised by ``items`` are re-raised in the consumer; closing the generator stops the
    thread.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(done)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, which re-raises it)
            put(_Raised(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="gymdata-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)


def frame_indices(num_frames: int, params: PoseParams) -> np.ndarray | None:
    """The frames to process: None for every frame, else the distinct sampled indices."""
    if not params.static:
        return None
    from gymdata.media import sample_indices

    return np.unique(sample_indices(num_frames, params.frames))


def iter_clip(files: tuple[str, ...], media_kind: str, indices: np.ndarray | None) -> Iterator[tuple[int, np.ndarray]]:
    """Decoded RGB frames of a clip as ``(index, image)``."""
    from gymdata.media import iter_images, iter_video

    if media_kind == "video":
        return iter_video(files[0], None if indices is None else indices.tolist())
    paths = [Path(f) for f in files]
    return iter_images(paths, None if indices is None else [i for i in indices.tolist() if i < len(paths)])


def people_check_frames(indices: list[int]) -> list[int]:
    """The frames re-examined for a second person: up to ``PEOPLE_CHECKS`` at evenly spaced
    quantiles of the processed frames, none for clips under ``PEOPLE_CHECK_MIN_FRAMES`` frames."""
    k = min(PEOPLE_CHECKS, len(indices) // PEOPLE_CHECK_MIN_FRAMES)
    return [indices[(len(indices) * (q + 1)) // (k + 1)] for q in range(k)]


def estimate(frames: Iterable[tuple[int, np.ndarray]], pose, *, static: bool,
             keep: Iterable[int] = ()) -> tuple[dict[str, np.ndarray], dict[int, np.ndarray]]:
    """Run a MediaPipe Pose over ``(index, rgb)`` frames.

    Args:
        frames: The clip's decoded frames.
        pose: A MediaPipe Pose (reset first in video mode).
        static: Whether ``pose`` is in static image mode.
        keep: Frame indices whose images are returned as well (for :func:`other_person`).

    Returns:
        The clip's arrays: ``frames`` (N,) int32, ``landmarks`` (N, 33, 4) float32 (x, y, z,
        visibility; zeros where no person was found), ``world`` (N, 33, 3) float32 metres (zeros
        where none), ``detected`` (N,) bool; and the kept images by frame index.
    """
    if not static:
        pose.reset()  # a fresh graph: no tracking or smoothing state from the previous clip
    keep = set(keep)
    kept: dict[int, np.ndarray] = {}
    idx, lms, worlds, det = [], [], [], []
    zeros_lm = np.zeros((NUM_LANDMARKS, 4), np.float32)
    zeros_w = np.zeros((NUM_LANDMARKS, 3), np.float32)
    for i, rgb in frames:
        res = pose.process(rgb)
        idx.append(i)
        if i in keep:
            kept[i] = rgb
        if res.pose_landmarks is None:
            lms.append(zeros_lm)
            worlds.append(zeros_w)
            det.append(False)
            continue
        lms.append(np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark], np.float32))
        world = res.pose_world_landmarks
        worlds.append(zeros_w if world is None else np.array([(p.x, p.y, p.z) for p in world.landmark], np.float32))
        det.append(True)
    if not idx:
        raise CorruptMediaError("no frame could be decoded", hint="re-encode or remove the clip")
    arrays = {
        "frames": np.asarray(idx, np.int32),
        "landmarks": np.stack(lms),
        "world": np.stack(worlds),
        "detected": np.asarray(det, bool),
    }
    return arrays, kept


def other_person(rgb: np.ndarray, landmarks: np.ndarray, static_pose) -> bool:
    """Whether a second person is in the frame: the tracked person's box (landmarks' extent plus a
    margin) is painted grey, MediaPipe looks again (static image mode), and a person whose limbs are
    visible (mean visibility >= 0.5) with the hip centre outside that box counts."""
    h, w = rgb.shape[:2]
    x, y = landmarks[:, 0], landmarks[:, 1]
    mx, my = 0.15 * (x.max() - x.min()) + 0.02, 0.15 * (y.max() - y.min()) + 0.02
    x0, x1, y0, y1 = x.min() - mx, x.max() + mx, y.min() - my, y.max() + my
    masked = rgb.copy()
    masked[int(np.clip(y0, 0, 1) * h) : int(np.clip(y1, 0, 1) * h), int(np.clip(x0, 0, 1) * w) : int(np.clip(x1, 0, 1) * w)] = 127
    res = static_pose.process(masked)
    if res.pose_landmarks is None:
        return False
    other = np.array([(p.x, p.y, p.visibility) for p in res.pose_landmarks.landmark])
    if other[_BODY, 2].mean() < 0.5:
        return False
    hx, hy = other[[LEFT_HIP, RIGHT_HIP], :2].mean(axis=0)
    return not (x0 <= hx <= x1 and y0 <= hy <= y1)


def extract_clip(job: ClipJob) -> ClipResult:
    """Process one clip (runs in a worker): hash it, return its cached result or compute and cache it.

    Raises:
        InputError, CorruptMediaError: If the clip cannot be read (the runner reports and skips it).
    """
    start = time.perf_counter()
    try:
        content = job.content or content_hash(job.files)
    except OSError as exc:
        raise InputError(f"cannot read clip: {exc.strerror or exc}", path=exc.filename or job.files[0]) from None
    key = result_key(content, job.params.key_params(job.num_frames))
    cache = ResultCache(job.cache_dir)
    if not job.force:
        arrays = cache.load(key)
        if arrays is not None:
            return ClipResult(job.video_id, key, job.signature, content, arrays, True, time.perf_counter() - start)
    indices = frame_indices(job.num_frames, job.params)
    checks = people_check_frames(list(range(job.num_frames)) if indices is None else indices.tolist())
    # MediaPipe's C++ logs (TFLite delegate, feedback manager...) come at every graph (re)start
    with quiet_native_stderr():
        pose = _estimator(job.params.static)
        frames = prefetch(iter_clip(job.files, job.media_kind, indices))
        try:
            arrays, kept = estimate(frames, pose, static=job.params.static, keep=checks)
        finally:
            frames.close()
        row = {int(f): n for n, f in enumerate(arrays["frames"])}
        checked = [f for f in checks if f in kept and arrays["detected"][row[f]]]
        arrays["people_checked"] = np.asarray(checked, np.int32)
        arrays["people_other"] = np.asarray(
            [other_person(kept[f], arrays["landmarks"][row[f]], _estimator(True)) for f in checked], bool)
    try:
        cache.save(key, arrays)  # the per-clip commit: an interrupted run resumes from here
    except OSError:
        pass  # a read-only or remote cache: the driver stores the result on its side
    return ClipResult(job.video_id, key, job.signature, content, arrays, False, time.perf_counter() - start)
