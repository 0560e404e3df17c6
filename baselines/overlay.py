"""Drawing a verdict onto frames: the skeleton, a panel of PASS/FAIL lines and the repetitions so
far, and the overlay video ``gymdata score`` writes next to a scored video.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from gymdata.skeleton import SKELETON_EDGES

_GREEN, _RED, _WHITE, _AMBER = (60, 200, 60), (230, 60, 50), (240, 240, 240), (255, 190, 0)


#: Landmarks drawn from this visibility on (NaN visibility: drawn).
DRAW_VISIBILITY = 0.3


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
    for a, b in SKELETON_EDGES:
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
