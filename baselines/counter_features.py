"""Per-frame pose features of the repetition counters (numpy, one clip at a time).

The label-free counter (:mod:`baselines.counting`) uses :func:`mirror_features`: torso-normalised
positions of left/right joint pairs as their midpoint and distance, and joint angles as the mean
and difference of the two sides, so that an alternating lunge counts once per side and
MediaPipe's left/right swaps in side views do not matter. The learned counters
(:mod:`baselines.poserac`, :mod:`baselines.gmm`) look at a pose in the three :data:`VIEWS` of
:func:`view_features`, min-max normalised per frame as PoseRAC's inputs are, with
:func:`mirror` as augmentation.
"""

from __future__ import annotations

import numpy as np

from gymdata.skeleton import (INDEX, LANDMARK_NAMES, LEFT_HIP, LEFT_SHOULDER, LIMB_PAIRS, NOSE, RIGHT_HIP,
                              RIGHT_SHOULDER)


def _mirrored(name: str) -> str:
    """The landmark's mirror image: left <-> right (the nose is its own; MediaPipe's mouth_left and
    mouth_right are a pair too)."""
    for a, b in (("left", "right"), ("right", "left")):
        if a in name:
            return name.replace(a, b)
    return name


def valid_frames(landmarks: np.ndarray) -> np.ndarray:
    """Frames with a person: finite landmarks, not all zero (how MediaPipe output marks a miss)."""
    xyz = np.asarray(landmarks)[..., :3]
    return np.isfinite(xyz).all(axis=(-1, -2)) & (xyz != 0).any(axis=(-1, -2))


def interpolate(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill the rows of ``values (T, D)`` where ``valid`` is false by linear interpolation over
    time (nearest valid row at the ends)."""
    t = np.arange(len(values))
    if valid.all():
        return values
    out = np.empty_like(values)
    for j in range(values.shape[1]):
        out[:, j] = np.interp(t, t[valid], values[valid, j])
    return out


def isotropic_xy(landmarks: np.ndarray, width: float | None = None, height: float | None = None) -> np.ndarray:
    """Image x, y with x rescaled by width / height, so that both share a unit and angles are
    true angles (unchanged when the frame size is unknown)."""
    xy = np.asarray(landmarks, np.float64)[..., :2].copy()
    if width and height:
        xy[..., 0] *= width / height
    return xy


def angle_features(xy: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Joint angles (radians) from :func:`gymdata.features.joint_angles`, made mirror-invariant:
    the mean and the absolute difference of each left/right pair, plus the unpaired ones.

    Args:
        xy: ``(T, 33, 2|3)`` positions in a shared unit.

    Returns:
        ``(T, K)`` features and their names.
    """
    from gymdata.features import JOINT_ANGLES, joint_angles

    ang = np.deg2rad(joint_angles(np.ascontiguousarray(xy, np.float32)).numpy().astype(np.float64))
    names = list(JOINT_ANGLES)
    cols, out_names = [], []
    for i, name in enumerate(names):
        if name.startswith("left_") and f"right_{name[5:]}" in names:
            j = names.index(f"right_{name[5:]}")
            cols += [(ang[:, i] + ang[:, j]) / 2, np.abs(ang[:, i] - ang[:, j])]
            out_names += [f"{name[5:]}_mean", f"{name[5:]}_diff"]
        elif not name.startswith("right_"):
            cols.append(ang[:, i])
            out_names.append(name)
    return np.stack(cols, axis=1), out_names


def mirror_features(landmarks: np.ndarray, width: float | None = None, height: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame mirror-invariant pose features for counting.

    Positions are centred on the hip midpoint and divided by the clip's median torso length (one
    scale per clip: a per-frame scale would add its own noise). Unlike
    :func:`gymdata.features.normalize_landmarks` nothing is rotated: in side views the hip vector
    is too short to give a stable angle.

    Args:
        landmarks: ``(T, 33, >=2)`` image-normalised landmarks (zeros where no person was found).
        width, height: Frame size, for :func:`isotropic_xy`.

    Returns:
        ``(T, D)`` features (invalid frames interpolated) and the ``(T,)`` mask of valid frames. With
        fewer than 2 valid frames the features are all zeros.
    """
    lm = np.asarray(landmarks)
    valid = valid_frames(lm)
    xy = isotropic_xy(lm, width, height)
    if valid.sum() < 2:
        return np.zeros((len(lm), 1)), valid
    hip = (xy[:, LEFT_HIP] + xy[:, RIGHT_HIP]) / 2
    torso = np.linalg.norm((xy[:, LEFT_SHOULDER] + xy[:, RIGHT_SHOULDER]) / 2 - hip, axis=-1)
    scale = max(float(np.median(torso[valid])), 1e-3)
    q = (xy - hip[:, None]) / scale
    cols = [q[:, NOSE]]
    for left, right in LIMB_PAIRS:
        cols.append((q[:, left] + q[:, right]) / 2)
        cols.append(np.linalg.norm(q[:, left] - q[:, right], axis=-1, keepdims=True))
    angles, _ = angle_features(xy)
    feats = np.concatenate([*cols, angles], axis=1)
    return interpolate(feats, valid), valid


VIEWS = ("minmax", "centred", "angles")


#: BlazePose index of each landmark's mirror image (left <-> right).
MIRROR = np.array([INDEX[_mirrored(name)] for name in LANDMARK_NAMES])


def minmax(landmarks: np.ndarray) -> np.ndarray:
    """``(T, 33, 3)`` x, y, z min-max normalised per frame and axis (rows of zeros stay zeros)."""
    xyz = np.asarray(landmarks, np.float64)[..., :3]
    lo, hi = xyz.min(axis=1, keepdims=True), xyz.max(axis=1, keepdims=True)
    return (xyz - lo) / np.maximum(hi - lo, 1e-9)


def mirror(norm: np.ndarray) -> np.ndarray:
    """The mirror image of min-max normalised poses: left and right swapped, x reflected."""
    out = norm[:, MIRROR].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


def view_features(norm: np.ndarray) -> dict[str, np.ndarray]:
    """The three per-frame views of min-max normalised poses ``(T, 33, 3)`` (module docstring)."""
    xy = norm[..., :2]
    hip = (xy[:, LEFT_HIP] + xy[:, RIGHT_HIP]) / 2
    torso = np.linalg.norm((xy[:, LEFT_SHOULDER] + xy[:, RIGHT_SHOULDER]) / 2 - hip, axis=-1)
    centred = (xy - hip[:, None]) / np.maximum(torso, 1e-3)[:, None, None]
    angles, _ = angle_features(xy)
    return {"minmax": norm.reshape(len(norm), -1), "centred": centred.reshape(len(norm), -1), "angles": angles}
