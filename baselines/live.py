"""``gymdata score --live``: judge a camera, stream or file frame by frame, over a sliding window,
in a window on screen or headless into a video.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from baselines.overlay import draw_panel, draw_skeleton, verdict_lines
from baselines.scoring import Scorer, window_indices
from gymdata.errors import InputError

#: Seconds of landmarks the live repetition count looks back on.
HISTORY_S = 600


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
    from gymdata.media import resize_frame
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
                idx = window_indices(len(window), scorer.frames)
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
