"""Pose features against slow, obvious reference implementations (plain loops) on random poses,
plus the dataset loader."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from gymdata import store
from gymdata.features import (
    ALEX_DIMS,
    JOINT_ANGLES,
    NORMALIZED_DIMS,
    alex_features,
    isotropic,
    joint_angles,
    load_pose_sequences,
    normalize_landmarks,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# -- references: one frame at a time, plain Python and numpy ----------------------------------------


def ref_normalize(clip: np.ndarray, thr: float = 0.25) -> np.ndarray:
    """(T, 33, 4) -> (T, 133), as the scoring projects describe it, one frame at a time."""
    T = len(clip)
    out = np.zeros((T, 133))
    valid = []
    for t in range(T):
        frame = clip[t].astype(np.float64)
        vis = frame[:, 3].copy()
        for i in range(33):
            if math.isnan(vis[i]):
                vis[i] = 1.0 if any(frame[i, :3] != 0) else 0.0
        valid.append(sum(1 for v in vis if v >= thr) >= 2)
        hip = (frame[23, :3] + frame[24, :3]) / 2
        shoulder = (frame[11, :3] + frame[12, :3]) / 2
        torso = math.hypot(shoulder[0] - hip[0], shoulder[1] - hip[1])
        width = math.hypot(frame[24, 0] - frame[23, 0], frame[24, 1] - frame[23, 1])
        scale = max(torso, width, 1e-3)
        angle = math.atan2(frame[24, 1] - frame[23, 1], frame[24, 0] - frame[23, 0])
        if angle > math.pi / 2:
            angle -= math.pi
        elif angle < -math.pi / 2:
            angle += math.pi
        c, s = math.cos(-angle), math.sin(-angle)
        for i in range(33):
            x, y, z = (frame[i, :3] - hip) / scale
            out[t, 4 * i : 4 * i + 4] = [c * x - s * y, s * x + c * y, z, vis[i]]
    good = [t for t in range(T) if valid[t]]
    for t in range(T):
        if valid[t]:
            out[t, 132] = 1.0
            continue
        before = [g for g in good if g < t]
        after = [g for g in good if g > t]
        if before and after:
            a, b = before[-1], after[0]
            w = (t - a) / (b - a)
            out[t, :132] = (1 - w) * out[a, :132] + w * out[b, :132]
        elif before:
            out[t, :132] = out[before[-1], :132]
        elif after:
            out[t, :132] = out[after[0], :132]
        else:
            out[t, :132] = 0.0
    return out


def ref_angles(points: np.ndarray) -> np.ndarray:
    """(33, 2|3) -> angles in degrees with acos, one joint at a time."""
    p = [np.asarray(q, np.float64) for q in points]
    hip, shoulder = (p[23] + p[24]) / 2, (p[11] + p[12]) / 2
    up = np.zeros_like(hip)
    up[1] = -1.0
    p += [hip, shoulder, hip + up]
    out = []
    for a, b, c in JOINT_ANGLES.values():
        u, v = p[a] - p[b], p[c] - p[b]
        cos = float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v))
        out.append(math.degrees(math.acos(max(-1.0, min(1.0, cos)))))
    return np.array(out)


def ref_alex(points: np.ndarray) -> np.ndarray:
    """(33, 3) -> 5,984: the ALEX-GYM-1 definition written out as loops."""
    p = points.astype(np.float64)
    dists = [float(np.linalg.norm(p[i] - p[j])) for i, j in itertools.combinations(range(33), 2)]
    cosines = []
    for i, j, k in itertools.combinations(range(33), 3):
        u, v = p[i] - p[j], p[k] - p[j]
        cosines.append(float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-8))
    return np.array(dists + cosines)


def random_clip(rng: np.random.Generator, T: int) -> np.ndarray:
    """A random (T, 33, 4) clip with some invisible landmarks and some frames without a person."""
    clip = np.concatenate([rng.random((T, 33, 3)), rng.random((T, 33, 1))], axis=-1).astype(np.float32)
    clip[..., 2] -= 0.5
    clip[rng.random(T) < 0.25] = 0.0  # no person
    lonely = rng.integers(0, T)
    clip[lonely, :, 3] = 0.1
    clip[lonely, 5, 3] = 0.9  # one visible landmark only: invalid
    return clip


# -- normalisation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_normalize_matches_reference(device):
    rng = np.random.default_rng(1)
    clips = np.stack([random_clip(rng, 24) for _ in range(6)])
    got = normalize_landmarks(torch.from_numpy(clips).to(device))
    assert got.shape == (6, 24, NORMALIZED_DIMS) and got.device.type == device
    want = np.stack([ref_normalize(c) for c in clips])
    np.testing.assert_allclose(got.cpu().numpy(), want, atol=2e-5, rtol=1e-4)


def test_normalize_edge_cases():
    rng = np.random.default_rng(2)
    clip = random_clip(rng, 10)
    clip[:3] = 0.0  # leading frames without a person: copied from the first valid frame
    clip[-2:] = 0.0
    got = normalize_landmarks(clip).numpy()
    np.testing.assert_allclose(got, ref_normalize(clip), atol=2e-5, rtol=1e-4)
    assert got[:3, 132].tolist() == [0, 0, 0]
    np.testing.assert_allclose(got[0, :132], got[3, :132])
    empty = normalize_landmarks(np.zeros((5, 33, 4), np.float32)).numpy()
    assert not empty.any()  # no valid frame: zeros, flags 0
    nan_vis = clip.copy()
    nan_vis[..., 3] = np.nan  # corpus poses without visibility
    got = normalize_landmarks(nan_vis).numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref_normalize(nan_vis), atol=2e-5, rtol=1e-4)


def test_normalize_keeps_a_frontal_person_upright():
    frame = np.zeros((1, 33, 4), np.float32)
    frame[..., 3] = 1.0
    # facing the camera: the person's left hip (23) is on the image's right, shoulders above the hips
    frame[0, 23, :2], frame[0, 24, :2] = (0.6, 0.6), (0.4, 0.62)
    frame[0, 11, :2], frame[0, 12, :2] = (0.62, 0.3), (0.38, 0.3)
    out = normalize_landmarks(frame)[0, :132].reshape(33, 4)
    assert out[11, 1] < 0 and out[12, 1] < 0  # still above the hips (y points down)
    assert abs(out[23, 1] - out[24, 1]) < 1e-6  # hips horizontal


def test_normalize_is_translation_and_scale_invariant():
    rng = np.random.default_rng(3)
    clip = random_clip(rng, 8)
    moved = clip.copy()
    detected = (clip[..., :3] != 0).any(-1)
    moved[..., :3] = np.where(detected[..., None], clip[..., :3] * 0.5 + np.float32(0.2), 0.0)
    a, b = normalize_landmarks(clip), normalize_landmarks(moved)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


# -- joint angles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("device", DEVICES)
def test_joint_angles_match_reference(dims, device):
    rng = np.random.default_rng(4)
    pts = rng.random((3, 7, 33, dims)).astype(np.float64)
    got = joint_angles(torch.from_numpy(pts).to(device))
    assert got.shape == (3, 7, len(JOINT_ANGLES)) and got.dtype == torch.float64
    want = np.stack([ref_angles(p) for p in pts.reshape(-1, 33, dims)]).reshape(3, 7, -1)
    np.testing.assert_allclose(got.cpu().numpy(), want, atol=1e-6)


def test_joint_angles_known_pose():
    pts = np.zeros((33, 2))
    pts[23], pts[25], pts[27] = (0.0, 0.0), (0.0, 1.0), (1.0, 1.0)  # left knee bent at a right angle
    pts[24], pts[26], pts[28] = (0.0, 0.0), (0.0, 1.0), (0.0, 2.0)  # right knee straight
    pts[11], pts[12] = (1.0, -1.0), (1.0, -1.0)  # trunk leaning 45 degrees
    got = dict(zip(JOINT_ANGLES, joint_angles(pts).tolist()))
    assert got["left_knee"] == pytest.approx(90.0)
    assert got["right_knee"] == pytest.approx(180.0)
    assert got["trunk_lean"] == pytest.approx(45.0)


def test_isotropic_fixes_the_aspect_ratio():
    pts = np.zeros((33, 2), np.float32)
    pts[23], pts[25], pts[27] = (0.5, 0.4), (0.5, 0.6), (0.5 + 0.2 * 9 / 16, 0.6)  # a right angle in pixels
    assert joint_angles(isotropic(pts, 1280, 720))[6].item() == pytest.approx(90.0, abs=1e-4)


# -- ALEX-GYM-1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_alex_features_match_reference(device):
    rng = np.random.default_rng(5)
    pts = rng.random((2, 3, 33, 3)).astype(np.float32)
    got = alex_features(torch.from_numpy(pts).to(device), chunk_size=4)  # several chunks
    assert got.shape == (2, 3, ALEX_DIMS) == (2, 3, 5984)
    want = np.stack([ref_alex(p) for p in pts.reshape(-1, 33, 3)]).reshape(2, 3, -1)
    np.testing.assert_allclose(got.cpu().numpy(), want, atol=2e-6, rtol=1e-5)


def test_alex_features_order_and_degenerate_points():
    pts = np.zeros((33, 3), np.float32)
    pts[1] = (3.0, 4.0, 0.0)
    got = alex_features(pts).numpy()
    assert got[0] == pytest.approx(5.0)  # pair (0, 1) comes first
    assert got[1] == 0.0  # pair (0, 2): both at the origin
    assert np.isfinite(got).all()  # zero-length vectors give cosine 0, not NaN (eps as the original)
    triplets = list(itertools.combinations(range(33), 3))
    assert got[528 + triplets.index((0, 1, 2))] == pytest.approx(1.0)  # p0 and p2 both at the origin
    assert got[528 + triplets.index((1, 2, 3))] == 0.0  # zero-length vectors: cosine 0


# -- loading a dataset's poses ---------------------------------------------------------------------


def _dataset_with_poses():
    videos = [{"video_id": v, "corpus": "videos", "path": f"{v}.mp4", "media_kind": "video", "exercise": "squat",
               "fps": 30.0, "num_frames": n, "width": 64, "height": 48, "duration": n / 30.0,
               "extras": json.dumps({})} for v, n in (("a", 6), ("b", 3))]

    def rows(vid, frames, source, value):
        return [{"video_id": vid, "frame": f, "layout": "blazepose33",
                 "landmarks": [value + f] * 132, "world": [value] * 99 if f % 2 == 0 else None,
                 "detected": True, "source": source} for f in frames]

    with store.building("feat") as ds, ds.transaction() as txn:
        txn.write("videos", videos)
        txn.write("poses", rows("a", [0, 1, 3, 5], "mediapipe-test", 1.0) + rows("a", range(6), "corpus", 100.0)
                  + rows("b", range(3), "corpus", 200.0))
    return store.open_dataset("feat")


def test_load_pose_sequences():
    ds = _dataset_with_poses()
    seqs = load_pose_sequences(ds)
    assert set(seqs) == {"a", "b"}
    a = seqs["a"]
    assert a.shape == (6, 33, 4) and a.dtype == np.float32
    assert a[:, 0, 0].tolist() == [1.0, 2.0, 0.0, 4.0, 0.0, 6.0]  # MediaPipe preferred; missing frames zeros
    assert seqs["b"][:, 0, 0].tolist() == [200.0, 201.0, 202.0]  # only corpus poses there
    corpus = load_pose_sequences(ds, ["a"], source="corpus")
    assert list(corpus) == ["a"] and corpus["a"][:, 0, 0].tolist() == [100.0 + f for f in range(6)]
    sampled = load_pose_sequences(ds, ["b"], frames=5)["b"]  # a short clip repeats frames
    assert sampled[:, 0, 0].tolist() == [200.0, 200.0, 201.0, 202.0, 202.0]
    world = load_pose_sequences(ds, ["a"], source="corpus", world=True)["a"]
    assert world.shape == (6, 33, 3) and world[:, 0, 0].tolist() == [100.0, 0, 100.0, 0, 100.0, 0]
    feats = normalize_landmarks(seqs["a"])
    assert feats.shape == (6, 133)
