"""Using a trained run: ``gymdata score`` (a video file, or ``--live`` a camera or stream) and
``gymdata export-model --onnx``.

``gymdata score VIDEO [VIDEO2] --run RUN``: BlazePose landmarks for every frame
(:func:`gymdata.pose.extract_clip`, video mode, content-cached), the model's inputs sampled
uniformly over the clip (T frames, the run's size), the model, and:

* a JSON report: the exercise recognised and its confidence, every criterion of that exercise
  passed or failed with its probability, the score (a regressed 0..100 score for ``bilstm`` runs,
  the share of criteria passed otherwise), and the repetitions found by :mod:`baselines.counting`
  (its label-free periodic counter, or a ``gmm`` run given with ``--counter``). The criteria
  models learnt from single repetitions (ALEX-GYM-1 rows), so each repetition is judged on its
  own (``per_repetition``) and the report gives their mean; a clip with no repetition found is
  judged whole;
* an overlay video per input: the skeleton, the verdict of the repetition under way (the overall
  one between repetitions), the score, the repetitions done so far.

A run trained on two views (frontal, lateral) takes two videos, in that order; single-view runs
(``--views any`` or one view) take one.

``gymdata score --live SOURCE --run RUN``: the same on an OpenCV source (a camera index such as
``0``, a URL or a file) frame by frame: a window of the last ``--window`` seconds is judged every
``--every`` frames (and the repetitions so far counted), and the running verdict, the count and
the frames/s are drawn on every frame. With a
display, frames are shown in a window (``q`` quits); headless (``--headless``, or no ``$DISPLAY``)
the annotated frames are written to ``--output`` instead, and no GUI call is made.

``gymdata export-model RUN --onnx``: the best checkpoint as ONNX (batch 1, opset 17) with a JSON
sidecar describing inputs, outputs and labels; the ONNX model is run with onnxruntime on real
and random inputs and its outputs compared with PyTorch's.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import click
import numpy as np
import torch
from torch import nn

from baselines.training import LabelSpace, Net, load_run, model_inputs, open_part
from gymdata.errors import GymdataError, InputError
from gymdata.output import emit, json_option

log = logging.getLogger("gymdata")

#: BlazePose skeleton edges (as MediaPipe draws them).
POSE_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13), (13, 15),
    (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31),
    (30, 32), (27, 31), (28, 32))
_GREEN, _RED, _WHITE, _AMBER = (60, 200, 60), (230, 60, 50), (240, 240, 240), (255, 190, 0)
#: Landmarks drawn from this visibility on (NaN visibility: drawn).
DRAW_VISIBILITY = 0.3
#: Seconds of landmarks the live repetition count looks back on.
HISTORY_S = 600


# --------------------------------------------------------------------------------------------
# The model side
# --------------------------------------------------------------------------------------------

class Scorer:
    """A trained run, ready to judge one sample at a time.

    Args:
        run: Run id or folder.
        device: Torch device.
    """

    def __init__(self, run: str | Path, device: str = "cpu"):
        self.device = torch.device(device)
        self.model, self.config = load_run(run, device=self.device)
        self.space = LabelSpace.from_meta(self.config["space"])
        self.views: list[str] | None = self.config["views"]
        self.n_views = len(self.views) if self.views else 1
        self.frames, self.size = int(self.config["frames"]), int(self.config["size"])
        self.needs_video = "video" in self.model.input_names
        self.needs_pose = bool({"pose", "normalized"} & set(self.model.input_names))

    @torch.no_grad()
    def judge(self, landmarks: np.ndarray | None, video: np.ndarray | None) -> dict:
        """Verdict on one sample.

        Args:
            landmarks: ``(V, T, 33, 4)`` image-normalised landmarks (zeros where no person), if the
                model takes poses.
            video: ``(V, T, size, size, 3)`` uint8 RGB, if the model takes video.

        Returns:
            ``exercise`` (name, confidence, probabilities), ``criteria`` (name, probability, passed)
            when the model judges criteria, ``score`` (value 0..100 and what it is).
        """
        batch = {}
        if self.needs_pose:
            batch["pose"] = torch.from_numpy(np.ascontiguousarray(landmarks, np.float32)[None])
        if self.needs_video:
            batch["video"] = torch.from_numpy(np.ascontiguousarray(video, np.uint8)[None])
        out = self.model(*model_inputs(batch, self.model.input_names, self.device))
        return self.verdict({k: v.float().cpu()[0] for k, v in out.items()})

    def verdict(self, out: dict[str, torch.Tensor]) -> dict:
        """Turn one sample's raw outputs into the report's fields."""
        names = self.space.exercises
        if "exercise" in out:
            probs = torch.softmax(out["exercise"], -1).numpy()
            e = int(probs.argmax())
        else:  # trained on one exercise: that is the only answer it can give
            probs, e = np.ones(1), 0
        result: dict = {"exercise": {"name": names[e], "confidence": round(float(probs[e]), 4),
                                     "probabilities": {n: round(float(p), 4) for n, p in zip(names, probs)}}}
        if "criteria" in out:
            crit = self.space.criteria.get(names[e], ())
            p = torch.sigmoid(out["criteria"][e, :len(crit)]).numpy()
            result["criteria"] = [{"criterion": c, "probability": round(float(q), 4), "passed": bool(q >= 0.5)}
                                  for c, q in zip(crit, p)]
            passed = sum(c["passed"] for c in result["criteria"])
            result["score"] = {"value": round(100 * passed / max(len(crit), 1), 2), "scale": [0, 100],
                               "kind": "criteria passed (%)"}
        if "score" in out:
            result["score"] = {"value": round(100 * float(out["score"]), 2), "scale": [0, 100], "kind": "regressed"}
        return result


def mean_verdict(verdicts: list[dict], scorer: Scorer) -> dict:
    """One verdict for several repetitions: exercise probabilities and criterion probabilities
    averaged, scores averaged."""
    if len(verdicts) == 1:
        return verdicts[0]
    names = scorer.space.exercises
    probs = np.mean([[v["exercise"]["probabilities"][n] for n in names] for v in verdicts], axis=0)
    e = int(probs.argmax())
    out: dict = {"exercise": {"name": names[e], "confidence": round(float(probs[e]), 4),
                              "probabilities": {n: round(float(p), 4) for n, p in zip(names, probs)}}}
    same = [v for v in verdicts if v["exercise"]["name"] == names[e] and "criteria" in v]
    if same:
        crit = [c["criterion"] for c in same[0]["criteria"]]
        p = np.mean([[c["probability"] for c in v["criteria"]] for v in same], axis=0)
        out["criteria"] = [{"criterion": c, "probability": round(float(q), 4), "passed": bool(q >= 0.5)}
                           for c, q in zip(crit, p)]
    scores = [v["score"]["value"] for v in verdicts if "score" in v]
    if scores:
        out["score"] = {**verdicts[0]["score"], "value": round(float(np.mean(scores)), 2)}
    return out


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

def draw_skeleton(rgb: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
    """Draw a BlazePose skeleton (image-normalised ``(33, 4)``) on ``rgb`` in place."""
    import cv2

    if landmarks is None or not np.any(landmarks[:, :3]):
        return rgb
    h, w = rgb.shape[:2]
    vis = np.nan_to_num(landmarks[:, 3], nan=1.0)
    pts = np.stack([landmarks[:, 0] * w, landmarks[:, 1] * h], -1)
    ok = np.isfinite(pts).all(1) & (vis >= DRAW_VISIBILITY)
    pts = np.nan_to_num(pts).round().astype(int)
    thick = max(2, round(h / 300))
    for a, b in POSE_CONNECTIONS:
        if ok[a] and ok[b]:
            cv2.line(rgb, tuple(pts[a]), tuple(pts[b]), _WHITE, thick, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(rgb, tuple(pts[i]), thick + 1, _AMBER, -1, cv2.LINE_AA)
    return rgb


def verdict_lines(verdict: dict | None, *, reps: int | None = None, fps: float | None = None) -> list[tuple[str, tuple]]:
    """The text panel of a frame: (line, colour)."""
    lines: list[tuple[str, tuple]] = []
    if verdict is None:
        lines.append(("judging...", _WHITE))
    else:
        ex = verdict["exercise"]
        lines.append((f"{ex['name']} ({ex['confidence']:.0%})", _WHITE))
        if "score" in verdict:
            lines.append((f"score {verdict['score']['value']:.0f}/100", _WHITE))
        for c in verdict.get("criteria", []):
            name = c["criterion"] if len(c["criterion"]) <= 42 else c["criterion"][:40] + ".."
            lines.append((f"{'PASS' if c['passed'] else 'FAIL'} {name} {c['probability']:.2f}",
                          _GREEN if c["passed"] else _RED))
    if reps is not None:
        lines.append((f"repetitions {reps}", _WHITE))
    if fps is not None:
        lines.append((f"{fps:.1f} frames/s", _AMBER))
    return lines


def draw_panel(rgb: np.ndarray, lines: Sequence[tuple[str, tuple]]) -> np.ndarray:
    """Draw text lines on a darkened box in the top-left corner of ``rgb`` in place."""
    import cv2

    h, w = rgb.shape[:2]
    scale = max(0.35, min(h, w) / 900)
    step = int(26 * scale) + 6
    width = int(min(w, max((cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for t, _ in lines),
                           default=0) + 16))
    height = min(h, step * len(lines) + 10)
    box = rgb[:height, :width]
    box[:] = (box * 0.35).astype(rgb.dtype)
    for i, (text, colour) in enumerate(lines):
        cv2.putText(rgb, text, (8, step * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    return rgb


# --------------------------------------------------------------------------------------------
# A video file
# --------------------------------------------------------------------------------------------

def clip_poses(path: Path, num_frames: int) -> dict[str, np.ndarray]:
    """Landmarks of every frame of a video (MediaPipe, video mode), through the pose cache.

    Returns:
        ``landmarks`` (N, 33, 4) (zeros where no person) and ``detected`` (N,), indexed by frame.
    """
    from gymdata.cache import file_signature
    from gymdata.pose import ClipJob, PoseParams, default_cache_dir, extract_clip

    job = ClipJob(path.name, (str(path),), "video", num_frames, PoseParams(None), str(default_cache_dir()),
                  file_signature([path]))
    arrays = extract_clip(job).arrays
    n = max(num_frames, int(arrays["frames"].max()) + 1 if len(arrays["frames"]) else 0)
    lm = np.zeros((n, 33, 4), np.float32)
    det = np.zeros(n, bool)
    lm[arrays["frames"]] = arrays["landmarks"]
    det[arrays["frames"]] = arrays["detected"]
    return {"landmarks": lm, "detected": det}


def count_repetitions(landmarks: np.ndarray, info, exercise: str | None, counter_run: str | None = None):
    """Repetitions of a clip by :mod:`baselines.counting` (a trained ``gmm`` run, or the
    label-free periodic counter); a ``CountResult``."""
    from baselines import counting

    counter = counting.load_counter(counter_run) if counter_run else counting.PeriodicCounter()
    return counting.count_clip(counter, landmarks, {"fps": info.fps, "width": info.width, "height": info.height,
                                                    "exercise": exercise})


def _sample(n: int, t: int, start: int = 0, end: int | None = None) -> np.ndarray:
    from gymdata.media import sample_indices

    end = n - 1 if end is None else end
    return start + sample_indices(end - start + 1, t)


def _video_frames(path: Path, indices: np.ndarray, size: int) -> np.ndarray:
    from exporters import resize_frame
    from gymdata.media import iter_video

    frames = {i: resize_frame(rgb, size) for i, rgb in iter_video(path, sorted(set(indices.tolist())))}
    last = frames[max(frames)] if frames else np.zeros((size, size, 3), np.uint8)
    return np.stack([frames.get(int(i), last) for i in indices])


def score_video(videos: Sequence[str | Path], run: str | Path, *, out_dir: str | Path | None = None,
                overlay: bool = True, counter_run: str | None = None, device: str = "cpu") -> dict:
    """Score a video (or one per view, in the run's view order); see the module docstring.

    Returns:
        The report (also written to ``<out_dir>/<stem>.score.json``, default out_dir the current
        folder), with ``overlays`` the paths of the overlay videos.

    Raises:
        InputError: On a wrong number of videos or an unreadable file.
    """
    from gymdata.media import probe_video

    scorer = Scorer(run, device)
    paths = [Path(v) for v in videos]
    if len(paths) != scorer.n_views:
        what = ", ".join(scorer.views) if scorer.views else "any single view"
        raise InputError(f"run {scorer.config['run_id']} takes {scorer.n_views} video(s) ({what}), got {len(paths)}",
                         hint="give one video per view, in that order")
    infos = [probe_video(p) for p in paths]
    for p, info in zip(paths, infos):
        if info.num_frames < 2:
            raise InputError(f"the video has {info.num_frames} frame(s): too short to judge an exercise", path=p,
                             hint="give a clip of at least one repetition")
    t0 = time.perf_counter()
    poses = [clip_poses(p, info.num_frames) for p, info in zip(paths, infos)]
    pose_s = time.perf_counter() - t0
    for p, pose in zip(paths, poses):
        # no verdict without a person: the model would still print one, with confidence
        if not pose["detected"].any():
            raise InputError(f"no person was found in any of its {len(pose['detected'])} frames", path=p,
                             hint="film the whole body in view, with enough light")
    n0 = len(poses[0]["landmarks"])

    def judge(start: int, end: int) -> dict:
        lms, vids = [], []
        for p, pose in zip(paths, poses):
            n = len(pose["landmarks"])
            # another view's clip has its own length: the same share of it
            lo, hi = round(start * (n - 1) / max(n0 - 1, 1)), round(end * (n - 1) / max(n0 - 1, 1))
            idx = _sample(n, scorer.frames, lo, hi)
            lms.append(pose["landmarks"][idx])
            if scorer.needs_video:
                vids.append(_video_frames(p, idx, scorer.size))
        return scorer.judge(np.stack(lms), np.stack(vids) if vids else None)

    whole = judge(0, n0 - 1)
    reps = count_repetitions(poses[0]["landmarks"], infos[0], whole["exercise"]["name"], counter_run)
    # a model that learnt from single repetitions judges each one, and the report their mean
    per_rep = bool(reps.reps) and scorer.config.get("sample_unit") == "repetition"
    segments = [(int(s), int(e)) for s, e in reps.reps] if per_rep else []
    verdicts = [judge(s, e) for s, e in segments] if per_rep else [whole]
    overall = mean_verdict(verdicts, scorer)
    report = {
        "videos": [str(p) for p in paths], "run": scorer.config["run_id"], "model": scorer.config["model"],
        "views": scorer.views or ["any"],
        "frames": [i.num_frames for i in infos], "fps": [round(i.fps, 3) for i in infos],
        "pose": {"detected_frames": [int(p["detected"].sum()) for p in poses], "seconds": round(pose_s, 2)},
        **overall,
        "repetitions": {"count": reps.count, "counter": reps.counter, "reason": reps.reason},
    }
    if per_rep:
        report["per_repetition"] = [{"start_frame": s, "end_frame": e, **v} for (s, e), v in zip(segments, verdicts)]
    out = Path(out_dir) if out_dir else Path.cwd()
    out.mkdir(parents=True, exist_ok=True)
    if overlay:
        report["overlays"] = []
        for p, pose, info in zip(paths, poses, infos):
            k = (len(pose["landmarks"]) - 1) / max(n0 - 1, 1)  # frames of the first view -> this view's
            scaled = lambda spans: [(round(s * k), round(e * k)) for s, e in spans]  # noqa: E731
            report["overlays"].append(str(write_overlay(p, pose, scaled(reps.reps), scaled(segments), verdicts,
                                                        overall, info.fps, out / f"{p.stem}.overlay.mp4")))
    (out / f"{paths[0].stem}.score.json").write_text(json.dumps(report, indent=2))
    report["json"] = str(out / f"{paths[0].stem}.score.json")
    return report


def write_overlay(path: Path, pose: dict, reps: list[tuple[int, int]], segments: list[tuple[int, int]],
                  verdicts: list[dict], overall: dict, fps: float, out: Path) -> Path:
    """Encode ``path`` with its skeleton and verdicts drawn on every frame (H.264 MP4): inside a
    judged repetition (``segments``) its own verdict, elsewhere the overall one, and the count of
    the repetitions (``reps``) done so far."""
    from gymdata.media import encode_h264, iter_video

    n_main = len(pose["landmarks"])

    def frames() -> Iterator[np.ndarray]:
        for i, rgb in iter_video(path):
            rgb = np.ascontiguousarray(rgb)
            draw_skeleton(rgb, pose["landmarks"][i] if i < n_main and pose["detected"][i] else None)
            inside = [k for k, (s, e) in enumerate(segments) if s <= i <= e]
            verdict = verdicts[inside[0]] if inside else overall
            draw_panel(rgb, verdict_lines(verdict, reps=sum(1 for _, e in reps if e < i)))
            yield rgb

    encode_h264(frames(), out, fps or 30.0)
    return out


# --------------------------------------------------------------------------------------------
# A live source
# --------------------------------------------------------------------------------------------

def _open_source(source: str):
    import cv2

    cap = cv2.VideoCapture(int(source) if source.strip().isdigit() else source)
    if not cap.isOpened():
        raise InputError(f"cannot open video source {source!r}",
                         hint="a camera index (0, 1, ...), a stream URL or a video file OpenCV can read")
    return cap


def live_frames(source: str, scorer: Scorer, *, max_frames: int | None = None, window_s: float = 3.0,
                every: int = 8, stats: dict | None = None) -> Iterator[np.ndarray]:
    """Annotated RGB frames of a live source: pose per frame, a verdict on the last ``window_s``
    seconds every ``every`` frames, skeleton + running verdict + frames/s drawn.

    ``stats`` (if given) is filled as frames go: ``frames``, ``fps``, ``verdicts``, ``last``,
    ``source_fps``.
    """
    import cv2

    from baselines.counting import PeriodicCounter
    from exporters import resize_frame
    from gymdata.logs import quiet_native_stderr
    from gymdata.pose import _estimator  # the process's MediaPipe Pose, built once (video mode here)

    if scorer.n_views != 1:
        raise InputError(f"live scoring needs a single-view run; run {scorer.config['run_id']} takes "
                         f"{', '.join(scorer.views)}", hint="train with --views any (or one view)")
    counter = PeriodicCounter()
    cap = _open_source(source)
    with quiet_native_stderr():  # MediaPipe's C++ start-up logs (shown with --verbose)
        estimator = _estimator(False)
        estimator.reset()
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    src_fps = src_fps if 1 <= src_fps <= 240 else 30.0
    window: deque = deque(maxlen=max(scorer.frames, int(round(window_s * src_fps))))
    history: deque = deque(maxlen=int(HISTORY_S * src_fps))  # landmarks the count is made from
    stats = {} if stats is None else stats
    stats.update(frames=0, verdicts=0, fps=0.0, last=None, repetitions=0, source_fps=src_fps)
    verdict, rate, t_prev = None, None, time.perf_counter()
    try:
        while max_frames is None or stats["frames"] < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            with quiet_native_stderr():  # the graph logs at its first frame after a (re)start
                res = estimator.process(rgb)
            lm = None
            if res.pose_landmarks is not None:
                lm = np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark], np.float32)
            small = resize_frame(rgb, scorer.size) if scorer.needs_video else None
            window.append((lm if lm is not None else np.zeros((33, 4), np.float32), small))
            history.append(window[-1][0])
            stats["frames"] += 1
            if stats["frames"] % every == 0 and len(window) >= scorer.frames:
                idx = _sample(len(window), scorer.frames)
                lms = np.stack([window[i][0] for i in idx])[None]
                vid = np.stack([window[i][1] for i in idx])[None] if scorer.needs_video else None
                verdict = scorer.judge(lms, vid)
                stats["verdicts"] += 1
                stats["last"] = verdict
                stats["repetitions"] = counter.count(np.stack(history), src_fps, width=rgb.shape[1],
                                                     height=rgb.shape[0]).count
            now = time.perf_counter()
            inst = 1.0 / max(now - t_prev, 1e-6)
            rate = inst if rate is None else 0.9 * rate + 0.1 * inst
            t_prev = now
            stats["fps"] = round(rate, 2)
            draw_skeleton(rgb, lm)
            draw_panel(rgb, verdict_lines(verdict, reps=stats["repetitions"], fps=rate))
            yield rgb
    finally:
        cap.release()


def has_display() -> bool:
    """Whether a window can be shown (an X or Wayland display on Linux; always elsewhere)."""
    if os.name != "posix" or os.uname().sysname == "Darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def score_live(source: str, run: str | Path, *, output: str | Path | None = None, headless: bool | None = None,
               max_frames: int | None = None, window_s: float = 3.0, every: int = 8, device: str = "cpu") -> dict:
    """Run :func:`live_frames` to a window, or headless to ``output``; returns the stats."""
    scorer = Scorer(run, device)
    headless = (not has_display()) if headless is None else headless
    stats: dict = {}
    frames = live_frames(source, scorer, max_frames=max_frames, window_s=window_s, every=every, stats=stats)
    if headless:
        from gymdata.media import encode_h264

        out = Path(output) if output else Path.cwd() / f"live-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        first = next(frames, None)  # starts the generator, which fills stats["source_fps"]
        if first is None:
            raise InputError(f"no frame could be read from {source!r}")
        encode_h264(itertools.chain([first], frames), out, stats["source_fps"])
        stats["output"] = str(out)
    else:
        import cv2

        title = f"gymdata score - {scorer.config['run_id']} (q quits)"
        for rgb in frames:
            cv2.imshow(title, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            if cv2.waitKey(1) & 0xFF == ord("q"):
                frames.close()
                break
        cv2.destroyAllWindows()
    return {"run": scorer.config["run_id"], "source": source, "headless": headless, **stats}


# --------------------------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------------------------

class Deployed(nn.Module):
    """A network with probabilities as outputs, in a fixed order: ``criteria`` (sigmoid,
    (B, E, W)), ``exercise`` (softmax, (B, E)), ``score`` (0..100, (B,)), those it has."""

    def __init__(self, model: Net, outputs: Sequence[str]):
        super().__init__()
        self.model, self.outputs = model, tuple(outputs)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(*inputs)
        conv = {"criteria": torch.sigmoid, "exercise": lambda x: torch.softmax(x, -1), "score": lambda x: x * 100}
        return tuple(conv[k](out[k].float()) for k in self.outputs)


def example_inputs(model: Net, config: dict) -> list[list[torch.Tensor]]:
    """Inputs to check an export with: a real sample of the run's export when it is still there,
    and a random one."""
    from gymdata.features import normalize_landmarks

    v = len(config["views"] or [None])
    t, s = int(config["frames"]), int(config["size"])
    gen = torch.Generator().manual_seed(0)
    pose = torch.rand(1, v, t, 33, 4, generator=gen)
    random = {"video": torch.randint(0, 256, (1, v, t, s, s, 3), dtype=torch.uint8, generator=gen),
              "pose": pose, "normalized": normalize_landmarks(pose)}
    found = [[random[n] for n in model.input_names]]
    for which in (2, 1, 0):
        try:
            units = open_part(config, which)
        except GymdataError:
            break  # the export is gone (another machine): random inputs only
        if units is not None:
            found.insert(0, model_inputs(units.__getitems__([0]), model.input_names, torch.device("cpu")))
            break
    return found


def export_onnx(run: str | Path, out: str | Path | None = None, *, atol: float = 1e-4, rtol: float = 1e-3) -> dict:
    """Export a run's best checkpoint to ONNX and check it against PyTorch (see the module docstring).

    Returns:
        ``onnx`` (path), ``sidecar``, ``inputs``, ``outputs``, ``max_abs_diff`` per output.

    Raises:
        GymdataError: If onnxruntime's outputs differ from PyTorch's beyond the tolerance.
    """
    import onnxruntime as ort

    model, config = load_run(run, device="cpu")
    run_dir = Path(config["run_dir"])
    out = Path(out) if out else run_dir / "model.onnx"
    samples = example_inputs(model, config)
    with torch.no_grad():
        raw = model(*samples[0])
    outputs = [k for k in ("criteria", "exercise", "score") if k in raw]
    deployed = Deployed(model, outputs).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with warnings.catch_warnings():  # the tracer's notes on Python-side shape checks, not problems here
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(deployed, tuple(samples[0]), str(tmp), dynamo=False, opset_version=17,
                              input_names=list(model.input_names), output_names=outputs)
        except Exception as exc:  # the exporter's errors are long graph dumps: keep the first line
            tmp.unlink(missing_ok=True)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GymdataError(f"run {config['run_id']} ({config['model']}) does not export to ONNX: {first[:300]}",
                               path=run_dir, hint="report this with the run's config.json") from exc
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    diffs = {k: 0.0 for k in outputs}
    for inputs in samples:
        with torch.no_grad():
            expected = [e.numpy() for e in deployed(*inputs)]
        got = session.run(outputs, {n: x.numpy() for n, x in zip(model.input_names, inputs)})
        for name, e, g in zip(outputs, expected, got):
            diffs[name] = max(diffs[name], float(np.max(np.abs(e - g))))
            if not np.allclose(g, e, atol=atol, rtol=rtol):
                tmp.unlink(missing_ok=True)
                raise GymdataError(f"ONNX output {name!r} differs from PyTorch's by up to {np.max(np.abs(e - g)):.3g}",
                                   path=out, hint="report this with the run's config.json")
    os.replace(tmp, out)  # only a checked model takes the name
    space = LabelSpace.from_meta(config["space"])
    shapes = {n: list(x.shape) for n, x in zip(model.input_names, samples[0])}
    sidecar = {
        "run": config["run_id"], "model": config["model"], "opset": 17, "batch": 1,
        "inputs": {n: {"shape": shapes[n], "dtype": str(samples[0][i].dtype).replace("torch.", ""),
                       "meaning": _INPUT_DOC[n]} for i, n in enumerate(model.input_names)},
        "outputs": {k: _OUTPUT_DOC[k] for k in outputs},
        "views": config["views"] or ["any"], "frames": config["frames"], "size": config["size"],
        "exercises": list(space.exercises), "criteria": {k: list(v) for k, v in space.criteria.items()},
        "checked": {"samples": len(samples), "max_abs_diff": diffs, "atol": atol, "rtol": rtol,
                    "onnxruntime": ort.__version__},
    }
    side = out.with_suffix(".json")
    side.write_text(json.dumps(sidecar, indent=2))
    return {"onnx": str(out), "sidecar": str(side), "inputs": shapes, "outputs": outputs, "max_abs_diff": diffs}


_INPUT_DOC = {
    "video": "uint8 RGB frames (batch, view, T, size, size, 3), sampled uniformly, squashed to size x size",
    "pose": "float32 BlazePose landmarks (batch, view, T, 33, 4): x, y image-normalised, z, visibility; "
            "zeros where no person",
    "normalized": "float32 (batch, 1, T, 133): gymdata.features.normalize_landmarks of the landmarks",
}
_OUTPUT_DOC = {
    "criteria": "(batch, exercises, slots) probability that each criterion is met; use the row of the "
                "exercise, its first len(criteria[exercise]) slots",
    "exercise": "(batch, exercises) probability of each exercise",
    "score": "(batch,) score 0..100",
}


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------

def format_report_summary(report: dict) -> str:
    """The few lines ``gymdata score`` prints (``--json`` prints the whole report)."""
    ex = report["exercise"]
    lines = [f"{', '.join(Path(v).name for v in report['videos'])}: {ex['name']} ({ex['confidence']:.0%}), "
             f"run {report['run']} ({report['model']})"]
    if "score" in report:
        lines.append(f"  score       {report['score']['value']:.1f}/100 ({report['score']['kind']})")
    reps = report["repetitions"]
    lines.append(f"  repetitions {reps['count']} ({reps['counter']}{', ' + reps['reason'] if reps['reason'] else ''})")
    for c in report.get("criteria", []):
        lines.append(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['probability']:.2f}  {c['criterion']}")
    for r in report.get("per_repetition", []):
        failed = [c["criterion"] for c in r.get("criteria", []) if not c["passed"]]
        lines.append(f"  repetition frames {r['start_frame']}-{r['end_frame']}: "
                     + (f"failed {'; '.join(failed)}" if failed else "all criteria passed"))
    lines.append(f"  report      {report['json']}")
    lines.extend(f"  overlay     {o}" for o in report.get("overlays", []))
    return "\n".join(lines)


def format_live(stats: dict) -> str:
    """The lines ``gymdata score --live`` prints at the end."""
    lines = [f"{stats['source']}: {stats.get('frames', 0)} frames at {stats.get('fps', 0):.1f} frames/s, "
             f"{stats.get('verdicts', 0)} verdicts (run {stats['run']})"]
    last = stats.get("last")
    if last:
        lines.append(f"  last verdict: {last['exercise']['name']} ({last['exercise']['confidence']:.0%})"
                     + (f", score {last['score']['value']:.0f}/100" if "score" in last else ""))
    if stats.get("repetitions") is not None:
        lines.append(f"  repetitions {stats['repetitions']}")
    if stats.get("output"):
        lines.append(f"  video       {stats['output']}")
    return "\n".join(lines)


@click.command("score")
@click.argument("videos", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--run", "run", required=True, help="Trained run (id or folder).")
@click.option("--live", "live", metavar="SOURCE", help="Score a camera index, stream URL or file frame by frame.")
@click.option("--out", "--output", "output", type=click.Path(path_type=Path),
              help="Folder of the report and overlays (default: the current folder); with --live, the "
                   "annotated video to write when headless.")
@click.option("--no-overlay", is_flag=True, help="Do not write the overlay video.")
@click.option("--counter", "counter_run", metavar="RUN",
              help="A trained gmm run to count repetitions with (default: the label-free periodic counter).")
@click.option("--headless", is_flag=True, default=None, help="--live: never open a window (default: when no display).")
@click.option("--max-frames", type=int, help="--live: stop after this many frames.")
@click.option("--window", "window_s", type=float, default=3.0, show_default=True, help="--live: seconds judged.")
@click.option("--every", type=int, default=8, show_default=True, help="--live: judge every N frames.")
@click.option("--device", default="cpu", show_default=True)
@json_option
def score_command(videos: tuple[Path, ...], run: str, live: str | None, output: Path | None, no_overlay: bool,
                  counter_run: str | None, headless: bool | None, max_frames: int | None, window_s: float, every: int,
                  device: str, as_json: bool) -> None:
    """Judge VIDEO (one per view of the run) with a trained run: JSON report + overlay video.

    \b
    gymdata score squat.mp4 --run RUN
    gymdata score front.mp4 side.mp4 --run RUN        (a two-view run)
    gymdata score --live 0 --run RUN                  (camera 0; q quits)
    gymdata score --live clip.mp4 --run RUN --headless --out annotated.mp4
    """
    if live is not None:
        if videos:
            raise InputError("give VIDEO or --live SOURCE, not both")
        stats = score_live(live, run, output=output, headless=headless, max_frames=max_frames, window_s=window_s,
                           every=every, device=device)
        click.echo(json.dumps(stats, indent=2, default=str) if as_json else format_live(stats))
        return
    if not videos:
        raise InputError("no VIDEO given", hint="gymdata score VIDEO --run RUN, or --live SOURCE")
    report = score_video(videos, run, out_dir=output, overlay=not no_overlay, counter_run=counter_run, device=device)
    click.echo(json.dumps(report, indent=2) if as_json else format_report_summary(report))


@click.command("export-model")
@click.argument("run")
@click.option("--onnx", "onnx_", is_flag=True, required=True, help="Export to ONNX (the only format so far).")
@click.option("--out", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="The .onnx file (default RUN/model.onnx).")
@json_option
def export_model_command(run: str, onnx_: bool, output: Path | None, as_json: bool) -> None:
    """Export trained run RUN for deployment, and check the export against PyTorch.

    \b
    gymdata export-model RUN --onnx [--out model.onnx]
    """
    result = export_onnx(run, output)
    diffs = ", ".join(f"{k} {v:.2g}" for k, v in result["max_abs_diff"].items())
    emit(result, f"wrote {result['onnx']} (+ {Path(result['sidecar']).name}); onnxruntime matches PyTorch "
         f"(max abs diff: {diffs})")
