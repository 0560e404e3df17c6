"""Cameras and drawing: the frontal and lateral views of a take, and the landmarks as a detector
would report them (image-normalised, with a visibility profile)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from gymdata.sample.body import (
    _I_FEET,
    _I_HEAD,
    _I_RING,
    _I_SHADOW,
    _I_SPINE,
    _LM,
    _N_SPINE,
    _RING,
    _SIDES,
    _X,
    _Y,
    _Z,
    _Subject,
    _unit,
)

# --------------------------------------------------------------------------------------------
# Cameras and drawing
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Camera:
    """A pinhole camera with no roll, looking horizontally."""

    pos: np.ndarray
    right: np.ndarray
    down: np.ndarray
    fwd: np.ndarray
    f: float
    size: int

    def to_cam(self, pts: np.ndarray) -> np.ndarray:
        rel = pts - self.pos
        return np.stack([rel @ self.right, rel @ self.down, rel @ self.fwd], axis=-1)

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (N, 2) and depths (N,) of world points."""
        c = self.to_cam(pts)
        return self.size / 2 + self.f * c[:, :2] / c[:, 2:3], c[:, 2]


_CAM_DISTANCE = 4.0
_CAM_HEIGHT = 0.95
_HALF_VIEW = 1.15  # metres visible above and below the optical axis at the subject
_WALL_BEHIND = 2.0
_LATERAL_CENTRE = {"squat": -0.05, "deadlift": 0.0, "lunge": 0.35}
_FRONTAL_BACKOFF = {"squat": 0.0, "deadlift": 0.0, "lunge": 0.7}  # the lunge steps towards the camera


def _cameras(ex: str, size: int) -> dict[str, _Camera]:
    f = size / 2 * _CAM_DISTANCE / _HALF_VIEW
    zc = _LATERAL_CENTRE[ex]
    return {
        "frontal": _Camera(np.array([0.0, _CAM_HEIGHT, _CAM_DISTANCE + _FRONTAL_BACKOFF[ex]]), _X, -_Y, -_Z, f, size),
        "lateral": _Camera(np.array([_CAM_DISTANCE, _CAM_HEIGHT, zc]), -_Z, -_Y, -_X, f, size),
    }


def _background(cam: _Camera, rng: np.random.Generator) -> np.ndarray:
    """Plain wall and floor; their meeting line is where the floor reaches the wall."""
    wall = np.array([205, 212, 216]) + rng.integers(-20, 12, size=3)
    floor = np.array([120, 140, 155]) + rng.integers(-25, 20, size=3)
    img = np.empty((cam.size, cam.size, 3), np.uint8)
    wall_depth = float(-cam.pos @ cam.fwd) + _WALL_BEHIND
    horizon = round(cam.size / 2 + cam.f * _CAM_HEIGHT / wall_depth)
    img[:horizon] = wall.clip(0, 255)
    img[horizon:] = floor.clip(0, 255)
    img[horizon:horizon + 1] = (floor * 0.8).clip(0, 255)
    return img


def _tint(color: tuple[int, int, int], side: str) -> tuple[int, int, int]:
    """Left limbs lighter, right limbs darker, so the two sides never look alike."""
    c = np.array(color, float)
    c = c + (255 - c) * 0.4 if side == "left" else c * 0.6
    return tuple(int(v) for v in c.clip(0, 255))


_SHIFT = 4  # sub-pixel drawing precision (coordinates in 1/16 px)
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class _Palette:
    """A subject's drawing colours, left/right tints resolved once."""

    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    nose: tuple[int, int, int]
    back_line: tuple[int, int, int]
    sides: dict[str, dict[str, tuple[int, int, int]]]

    @classmethod
    def of(cls, s: _Subject) -> _Palette:
        c = s.colors
        def dark(col: tuple[int, int, int], k: float) -> tuple[int, int, int]:
            return tuple(int(v * k) for v in col)

        return cls(c["shirt"], c["pants"], c["skin"], c["hair"], dark(c["skin"], 0.75), dark(c["shirt"], 0.55),
                   {side: {k: _tint(c[k], side) for k in ("shirt", "pants", "shoes")} for side in _SIDES})


_HANDS = {side: np.array([lm["wrist"], lm["pinky"], lm["index"], lm["thumb"]]) for side, lm in _LM.items()}
_FEET = {side: _I_FEET + 8 * k + np.arange(8) for k, side in enumerate(_SIDES)}
_BACK_LINE = _I_RING + np.arange(1, _N_SPINE) * _RING + 6  # ring point 6 faces backwards
_TORSO = [_I_RING + np.arange(i * _RING, (i + 2) * _RING) for i in range(_N_SPINE - 1)]


def _render(s: _Subject, pal: _Palette, pts: np.ndarray, cam: _Camera, bg: np.ndarray,
            uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Draws the figure with the painter's algorithm (far primitives first).

    Args:
        s: The subject (sizes).
        pal: The subject's colours.
        pts: World points from `_build_points`.
        cam: The camera.
        bg: The empty scene, copied.
        uv: Pixel coordinates of ``pts`` (from ``cam.project``).
        depth: Camera depths of ``pts``.

    Returns:
        The BGR image.
    """
    uvi = np.round(uv * _ONE).astype(np.int32)
    fix = [tuple(p) for p in uvi.tolist()]
    dl = depth.tolist()
    px_per_m = (cam.f / depth).tolist()  # pixels per metre at each point's depth
    img = bg.copy()
    h = s.height
    aa = cv2.LINE_AA

    sh = uv[_I_SHADOW:_I_SHADOW + 4]
    axes = (int(max(abs(sh[0, 0] - sh[1, 0]), abs(sh[2, 0] - sh[3, 0])) / 2 * _ONE),
            int(max(abs(sh[0, 1] - sh[1, 1]), abs(sh[2, 1] - sh[3, 1]), 2.0) / 2 * _ONE))
    shadow = tuple(int(v * 0.8) for v in bg[-1, 0])
    cv2.ellipse(img, tuple(int(v) for v in np.round(sh.mean(axis=0) * _ONE)), axes, 0, 0, 360, shadow, -1, aa,
                _SHIFT)

    prims: list[tuple[float, int, Callable[[], None]]] = []

    def capsule(i: int, j: int, radius: float, color: tuple[int, int, int]) -> None:
        # OpenCV draws thick lines with round caps: a line is a capsule.
        t = max(round(radius * (px_per_m[i] + px_per_m[j])), 1)
        prims.append(((dl[i] + dl[j]) / 2, len(prims), lambda: cv2.line(img, fix[i], fix[j], color, t, aa, _SHIFT)))

    def hull(idx: np.ndarray, color: tuple[int, int, int], d: float) -> None:
        poly = cv2.convexHull(uvi[idx])
        prims.append((d, len(prims), lambda: cv2.fillConvexPoly(img, poly, color, aa, _SHIFT)))

    for side in _SIDES:
        lm, tint = _LM[side], pal.sides[side]
        capsule(lm["hip"], lm["knee"], 0.043 * h * s.girth, tint["pants"])
        capsule(lm["knee"], lm["ankle"], 0.031 * h * s.girth, tint["pants"])
        capsule(lm["shoulder"], lm["elbow"], 0.027 * h * s.girth, tint["shirt"])
        capsule(lm["elbow"], lm["wrist"], 0.021 * h * s.girth, tint["shirt"])
        hull(_HANDS[side], pal.skin, dl[lm["wrist"]])
        hull(_FEET[side], tint["shoes"], dl[lm["ankle"]])
    ring_depth = depth[_I_RING:_I_RING + _N_SPINE * _RING].reshape(_N_SPINE, _RING).mean(axis=1).tolist()
    for i, idx in enumerate(_TORSO):
        hull(idx, pal.pants if i == 0 else pal.shirt, (ring_depth[i] + ring_depth[i + 1]) / 2)
    # The back's outline makes the spine's curve legible whenever the back is in view.
    mid = _I_RING + (_N_SPINE // 2) * _RING
    back_normal = _unit(pts[mid + 6] - pts[_I_SPINE + _N_SPINE // 2])
    if np.dot(back_normal, _unit(cam.pos - pts[mid + 6])) > -0.3:
        line = uvi[_BACK_LINE]
        back_depth = float(depth[_BACK_LINE].mean())
        width = max(round(0.008 * h * cam.f / back_depth), 1)
        prims.append((back_depth - 0.01, len(prims),
                      lambda: cv2.polylines(img, [line], False, pal.back_line, width, aa, _SHIFT)))
    capsule(_I_SPINE + _N_SPINE - 1, _I_HEAD + 3, 0.03 * h, pal.skin)

    head, hair, face = _I_HEAD, _I_HEAD + 1, _I_HEAD + 2
    to_cam = _unit(cam.pos - pts[head])

    def draw_head() -> None:
        r = s.head_r * px_per_m[head]
        # Hair and face are two offset discs: whichever is nearer the camera is painted last.
        discs = [(dl[hair], fix[hair], 0.97, pal.hair), (dl[face] + 1e-6, fix[face], 0.9, pal.skin)]
        for _, centre, k, color in sorted(discs, key=lambda q: -q[0]):
            cv2.circle(img, centre, int(r * k * _ONE), color, -1, aa, _SHIFT)
        for eye in (2, 5):  # only the eyes turned towards the camera
            if np.dot(pts[eye] - pts[head], to_cam) > 0.25 * s.head_r:
                cv2.circle(img, fix[eye], int(max(r * 0.12, 0.6) * _ONE), (30, 30, 40), -1, aa, _SHIFT)
        if np.dot(pts[0] - pts[head], to_cam) > 0:
            cv2.circle(img, fix[0], int(max(r * 0.14, 0.6) * _ONE), pal.nose, -1, aa, _SHIFT)
            cv2.line(img, fix[9], fix[10], (60, 60, 150), max(int(r * 0.08), 1), aa, _SHIFT)
    prims.append((float(depth[head]), len(prims), draw_head))

    for _, _, draw in sorted(prims, key=lambda q: (-q[0], q[1])):
        draw()
    return img


# --------------------------------------------------------------------------------------------
# Landmarks as a detector would report them
# --------------------------------------------------------------------------------------------

def _visibility(view: str) -> np.ndarray:
    """Per-landmark visibility: the side turned away from the lateral camera is mostly hidden."""
    vis = np.full(33, 0.98)
    if view == "lateral":
        far = [4, 5, 6, 8, 10] + list(range(12, 33, 2))
        vis[far] = 0.45
    return vis


def _landmarks(uv: np.ndarray, depth: np.ndarray, cam: _Camera) -> np.ndarray:
    """(33, 3) image-normalised x, y and MediaPipe-like z (hip-centred depth, x's scale)."""
    hip_depth = float(depth[23] + depth[24]) / 2
    z = (depth[:33] - hip_depth) * cam.f / hip_depth
    return np.concatenate([uv[:33], z[:, None]], axis=1) / cam.size

