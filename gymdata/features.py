"""Pose features in torch, computed on the fly: vectorised over any leading dimensions, on the
device and in the dtype of the input (CPU or GPU), no Python loop over frames.

* :func:`normalize_landmarks`: the scoring projects' input, T x 133 per clip;
* :func:`joint_angles`: elbows, shoulders, hips, knees, ankles and trunk lean, in degrees;
* :func:`alex_features`: ALEX-GYM-1's 528 pairwise distances + 5,456 cosines = 5,984 per frame;
* :func:`load_pose_sequences`: a dataset's poses as one (T, 33, 4) array per clip.

Nothing here is stored: 5,984 floats per frame would be 24 KB a frame, 24 GB per million frames,
while the poses they come from take about 0.6 KB a frame in the store. Compute the features in the
data loader or on the GPU (``benchmarks/bench_features.py`` measures the throughput: on one H100,
alex_features runs at about 3.4M frames/s).

BlazePose indices are those of MediaPipe (:mod:`gymdata.skeleton`): 11/12 shoulders, 13/14 elbows,
15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles, 31/32 foot index (odd = left). In image
coordinates and in MediaPipe's world coordinates, y points down.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
import torch

from gymdata.skeleton import (
    BLAZEPOSE33,
    LEFT_ANKLE,
    LEFT_ELBOW,
    LEFT_FOOT_INDEX,
    LEFT_HIP,
    LEFT_KNEE,
    LEFT_SHOULDER,
    LEFT_WRIST,
    NUM_LANDMARKS,
    RIGHT_ANKLE,
    RIGHT_ELBOW,
    RIGHT_FOOT_INDEX,
    RIGHT_HIP,
    RIGHT_KNEE,
    RIGHT_SHOULDER,
    RIGHT_WRIST,
)

#: A landmark is visible from this visibility on (the scoring projects' threshold).
VIS_THRESHOLD = 0.25
#: Features per frame of :func:`normalize_landmarks`: 33 x (x, y, z, visibility) + validity flag.
NORMALIZED_DIMS = NUM_LANDMARKS * 4 + 1

#: Virtual points appended to the 33 landmarks by :func:`joint_angles`: the hip and shoulder
#: midpoints, and a point one unit straight above the hip midpoint (y points down).
HIP_MID, SHOULDER_MID, ABOVE_HIP_MID = 33, 34, 35

#: Joint angles as (a, b, c): the angle at b between b->a and b->c, in degrees (0..180).
#: ``trunk_lean`` is the angle between hip-mid -> shoulder-mid and the upward vertical (0 = upright).
JOINT_ANGLES: dict[str, tuple[int, int, int]] = {
    "left_elbow": (LEFT_SHOULDER, LEFT_ELBOW, LEFT_WRIST),
    "right_elbow": (RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_WRIST),
    "left_shoulder": (LEFT_ELBOW, LEFT_SHOULDER, LEFT_HIP),
    "right_shoulder": (RIGHT_ELBOW, RIGHT_SHOULDER, RIGHT_HIP),
    "left_hip": (LEFT_SHOULDER, LEFT_HIP, LEFT_KNEE),
    "right_hip": (RIGHT_SHOULDER, RIGHT_HIP, RIGHT_KNEE),
    "left_knee": (LEFT_HIP, LEFT_KNEE, LEFT_ANKLE),
    "right_knee": (RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE),
    "left_ankle": (LEFT_KNEE, LEFT_ANKLE, LEFT_FOOT_INDEX),
    "right_ankle": (RIGHT_KNEE, RIGHT_ANKLE, RIGHT_FOOT_INDEX),
    "trunk_lean": (SHOULDER_MID, HIP_MID, ABOVE_HIP_MID),
}

#: ALEX-GYM-1 feature order: every pair i < j (``itertools.combinations(range(33), 2)`` order),
#: then every triplet i < j < k (``combinations(range(33), 3)`` order).
ALEX_PAIRS = np.array(list(itertools.combinations(range(NUM_LANDMARKS), 2)), dtype=np.int64)
ALEX_TRIPLETS = np.array(list(itertools.combinations(range(NUM_LANDMARKS), 3)), dtype=np.int64)
ALEX_DIMS = len(ALEX_PAIRS) + len(ALEX_TRIPLETS)  # 528 + 5,456 = 5,984
_ALEX_EPS = 1e-8  # added to the product of the norms, as in the original


def _tensor(x) -> torch.Tensor:
    t = torch.as_tensor(x)
    return t if t.is_floating_point() else t.float()


def isotropic(lm, width: float, height: float) -> torch.Tensor:
    """Image-normalised landmarks with x rescaled by width / height, so that x and y share a unit
    (the frame height) and angles are true angles. Works on ``[..., 2|3|4]`` arrays."""
    lm = _tensor(lm).clone()
    lm[..., 0] *= width / height
    return lm


def normalize_landmarks(lm, vis_threshold: float = VIS_THRESHOLD) -> torch.Tensor:
    """The scoring projects' normalisation of a landmark sequence.

    Per frame:

    1. a landmark is visible when its visibility is >= ``vis_threshold`` (NaN visibility, as in
       corpus poses that have none, counts as visible unless the landmark is all zeros); a frame
       with fewer than 2 visible landmarks (including a frame with no person: all zeros) is invalid;
    2. x, y, z are centred on the hip midpoint (23/24) and divided by
       max(torso length, hip width, 1e-3), torso length being the x/y distance from the shoulder
       midpoint to the hip midpoint and hip width the x/y distance between the hips;
    3. x, y are rotated so that the left->right hip vector is horizontal, by the smaller of the two
       rotations that do it (|angle| <= 90 degrees), so a person facing the camera is not turned
       upside down;

    then, over time, invalid frames are replaced by linear interpolation between the nearest valid
    frames (copied from the nearest one at the ends; zeros if the clip has no valid frame), and a
    validity flag (1 valid, 0 interpolated) is appended.

    Args:
        lm: ``[..., T, 33, 4]`` (x, y, z, visibility), image-normalised as MediaPipe gives them.
        vis_threshold: Visibility from which a landmark counts as visible.

    Returns:
        ``[..., T, 133]``: 33 x (x, y, z, visibility) flattened, then the validity flag.
    """
    lm = _tensor(lm)
    if lm.shape[-2:] != (NUM_LANDMARKS, 4) or lm.dim() < 3:
        raise ValueError(f"expected [..., T, 33, 4] landmarks, got {tuple(lm.shape)}")
    xyz, vis = lm[..., :3], lm[..., 3]
    present = (xyz != 0).any(-1)
    vis = torch.where(torch.isnan(vis), present.to(lm.dtype), vis)
    valid = (vis >= vis_threshold).sum(-1) >= 2  # [..., T]

    hip = (xyz[..., LEFT_HIP, :] + xyz[..., RIGHT_HIP, :]) / 2
    shoulder = (xyz[..., LEFT_SHOULDER, :] + xyz[..., RIGHT_SHOULDER, :]) / 2
    hip_vec = xyz[..., RIGHT_HIP, :2] - xyz[..., LEFT_HIP, :2]
    scale = torch.maximum(torch.linalg.vector_norm((shoulder - hip)[..., :2], dim=-1),
                          torch.linalg.vector_norm(hip_vec, dim=-1)).clamp_min(1e-3)
    centred = (xyz - hip[..., None, :]) / scale[..., None, None]

    # rotate by -angle, angle folded into [-90, 90] degrees: cos(angle) >= 0 always
    angle = torch.atan2(hip_vec[..., 1], hip_vec[..., 0])
    angle = torch.where(angle > torch.pi / 2, angle - torch.pi, torch.where(angle < -torch.pi / 2, angle + torch.pi, angle))
    cos, sin = torch.cos(angle)[..., None], torch.sin(angle)[..., None]
    x, y = centred[..., 0], centred[..., 1]
    out = torch.stack([x * cos + y * sin, y * cos - x * sin, centred[..., 2], vis], dim=-1)
    out = out.flatten(-2)  # [..., T, 132]
    out = _interpolate_invalid(out, valid)
    return torch.cat([out, valid.to(out.dtype)[..., None]], dim=-1)


def _interpolate_invalid(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Replace the rows of ``x [..., T, D]`` where ``valid [..., T]`` is false by linear
    interpolation between the nearest valid rows (nearest valid row at the ends, zeros if none)."""
    T = x.shape[-2]
    t = torch.arange(T, device=x.device).expand(valid.shape)
    prev = torch.where(valid, t, torch.full_like(t, -1)).cummax(dim=-1).values
    nxt = torch.where(valid, t, torch.full_like(t, T)).flip(-1).cummin(dim=-1).values.flip(-1)
    has_prev, has_next = prev >= 0, nxt < T
    lo, hi = prev.clamp(0, T - 1), nxt.clamp(0, T - 1)
    span = (nxt - prev).clamp_min(1)
    w = torch.where(has_prev & has_next, (t - prev) / span, torch.where(has_next, 1.0, 0.0)).to(x.dtype)
    def rows(idx: torch.Tensor) -> torch.Tensor:
        return torch.gather(x, -2, idx[..., None].expand(*idx.shape, x.shape[-1]))

    filled = rows(lo) * (1 - w)[..., None] + rows(hi) * w[..., None]
    filled = torch.where((has_prev | has_next)[..., None], filled, torch.zeros_like(filled))
    return torch.where(valid[..., None], x, filled)


def joint_angles(xyz) -> torch.Tensor:
    """Joint angles in degrees, ordered as :data:`JOINT_ANGLES`.

    Pass coordinates in which x and y share a unit: world landmarks, or image landmarks through
    :func:`isotropic` (raw image-normalised x and y are scaled by the width and the height apart,
    which bends angles on non-square frames).

    Args:
        xyz: ``[..., 33, 2]`` or ``[..., 33, 3]`` positions (a visibility column, if any, is dropped).

    Returns:
        ``[..., len(JOINT_ANGLES)]`` angles in [0, 180]; 0 where a vector has zero length.
    """
    xyz = _tensor(xyz)
    if xyz.shape[-2] != NUM_LANDMARKS or xyz.shape[-1] not in (2, 3, 4):
        raise ValueError(f"expected [..., 33, 2|3] positions, got {tuple(xyz.shape)}")
    if xyz.shape[-1] == 4:
        xyz = xyz[..., :3]
    hip = (xyz[..., LEFT_HIP, :] + xyz[..., RIGHT_HIP, :]) / 2
    shoulder = (xyz[..., LEFT_SHOULDER, :] + xyz[..., RIGHT_SHOULDER, :]) / 2
    up = torch.zeros_like(hip)
    up[..., 1] = -1.0
    pts = torch.cat([xyz, hip[..., None, :], shoulder[..., None, :], (hip + up)[..., None, :]], dim=-2)
    idx = torch.as_tensor(list(JOINT_ANGLES.values()), device=xyz.device)
    a, b, c = pts[..., idx[:, 0], :], pts[..., idx[:, 1], :], pts[..., idx[:, 2], :]
    u, v = a - b, c - b
    dot = (u * v).sum(-1)
    if xyz.shape[-1] == 2:
        cross = (u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]).abs()
    else:
        cross = torch.linalg.vector_norm(torch.linalg.cross(u, v, dim=-1), dim=-1)
    return torch.rad2deg(torch.atan2(cross, dot))  # stable near 0 and 180, unlike acos


_ALEX_INDEX: dict[torch.device, tuple[torch.Tensor, ...]] = {}


def _alex_index(device: torch.device) -> tuple[torch.Tensor, ...]:
    if device not in _ALEX_INDEX:
        n = NUM_LANDMARKS
        pairs, trip = torch.as_tensor(ALEX_PAIRS), torch.as_tensor(ALEX_TRIPLETS)
        i, j, k = trip[:, 0], trip[:, 1], trip[:, 2]
        # flat indices into the [33 * 33] table of p_a - p_b (and of its norms)
        _ALEX_INDEX[device] = tuple(t.to(device) for t in (pairs[:, 0] * n + pairs[:, 1], i * n + j, k * n + j))
    return _ALEX_INDEX[device]


def alex_features(xyz, chunk_size: int | None = None) -> torch.Tensor:
    """ALEX-GYM-1's per-frame pose features: 528 distances then 5,456 cosines (5,984).

    The order is the original's (``compute_distances_and_angles_combined``): first
    ``|p_i - p_j|`` for every pair i < j in ``itertools.combinations(range(33), 2)`` order (=
    :data:`ALEX_PAIRS`), then for every triplet i < j < k in ``combinations(range(33), 3)`` order (=
    :data:`ALEX_TRIPLETS`) the cosine of the angle at the middle joint j,
    ``(p_i - p_j) . (p_k - p_j) / (|p_i - p_j| |p_k - p_j| + 1e-8)``.

    Args:
        xyz: ``[..., 33, 3]`` points (the original uses MediaPipe's image-normalised x, y, z); a
            visibility column, if any, is dropped.
        chunk_size: Frames computed at once (intermediates take about 100 KB per frame); default
            256 on CPU (stays in cache), 32,768 on GPU.

    Returns:
        ``[..., 5984]``, in the input's dtype and on its device.
    """
    xyz = _tensor(xyz)
    if xyz.shape[-2] != NUM_LANDMARKS or xyz.shape[-1] not in (3, 4):
        raise ValueError(f"expected [..., 33, 3] points, got {tuple(xyz.shape)}")
    lead = xyz.shape[:-2]
    pts = xyz[..., :3].reshape(-1, NUM_LANDMARKS, 3)
    pair, first, second = _alex_index(pts.device)
    n_pairs = len(ALEX_PAIRS)
    out = torch.empty(pts.shape[0], ALEX_DIMS, dtype=pts.dtype, device=pts.device)
    step = chunk_size or (32_768 if pts.is_cuda else 256)
    for s in range(0, pts.shape[0], step):  # chunks of frames, each fully vectorised
        p = pts[s : s + step]
        dot = sq = None
        for c in range(3):  # one coordinate at a time: [n, 33*33] tables of p_a - p_b, gathered by column
            q = p[..., c]
            d = (q[:, :, None] - q[:, None, :]).reshape(len(p), -1)
            d1, d2 = d.index_select(1, first), d.index_select(1, second)
            dot = d1 * d2 if dot is None else dot.addcmul_(d1, d2)
            sq = d * d if sq is None else sq.addcmul_(d, d)
        norm = sq.sqrt_()
        out[s : s + step, :n_pairs] = norm.index_select(1, pair)
        out[s : s + step, n_pairs:] = dot / (norm.index_select(1, first) * norm.index_select(1, second) + _ALEX_EPS)
    return out.reshape(*lead, ALEX_DIMS)


def load_pose_sequences(
    ds,
    video_ids: Iterable[str] | None = None,
    source: str | None = None,
    *,
    frames: int | None = None,
    world: bool = False,
) -> dict[str, np.ndarray]:
    """A dataset's BlazePose landmarks as one float32 array per clip.

    Args:
        ds: A :class:`gymdata.store.Dataset`.
        video_ids: Clips to load (default all clips with poses).
        source: ``poses.source`` to use: an exact value, or a prefix such as ``"mediapipe"`` or
            ``"corpus"``. Default: per clip, MediaPipe rows if there are any, else any other source
            (the first in sorted order).
        frames: Return T = ``frames`` rows sampled uniformly over the clip's ``num_frames``
            (``gymdata.media.sample_indices``, repeats included), as ``gymdata pose --frames T``
            samples; a frame without a stored pose is zeros.
        world: Return world coordinates ``(T, 33, 3)`` instead of the landmarks.

    Returns:
        ``{video_id: (T, 33, 4)}`` (or ``(T, 33, 3)`` with ``world``). Without ``frames``, T is the
        clip's ``num_frames`` and frames without a stored pose (or without a person) are zeros, which
        :func:`normalize_landmarks` treats as invalid and interpolates.
    """
    import pyarrow.compute as pc

    from gymdata.media import sample_indices

    filt = None if video_ids is None else pc.field("video_id").isin(list(video_ids))
    videos = ds.read("videos", columns=["video_id", "num_frames"], filter=filt)
    count = dict(zip(videos.column("video_id").to_pylist(), videos.column("num_frames").to_pylist()))
    if not ds.has("poses"):
        return {}
    layout = pc.field("layout") == BLAZEPOSE33
    col = "world" if world else "landmarks"
    tbl = ds.read("poses", columns=["video_id", "frame", "source", col], filter=layout if filt is None else layout & filt)
    if not len(tbl):
        return {}
    ids = np.asarray(tbl.column("video_id").to_numpy(zero_copy_only=False))
    srcs = np.asarray(tbl.column("source").to_numpy(zero_copy_only=False))
    keep = _pick_source(ids, srcs, source)
    tbl = tbl.filter(keep)
    ids, fr = ids[keep], tbl.column("frame").to_numpy()
    dims = 3 if world else 4
    values = tbl.column(col)
    lengths = pc.fill_null(pc.list_value_length(values), 0).to_numpy()
    flat = pc.list_flatten(values).to_numpy(zero_copy_only=False).astype(np.float32)
    has = lengths == NUM_LANDMARKS * dims
    if not np.all(has | (lengths == 0)):
        raise ValueError(f"poses.{col}: rows of a length other than {NUM_LANDMARKS * dims} in a blazepose33 layout")
    rows = np.zeros((len(tbl), NUM_LANDMARKS, dims), np.float32)
    rows[has] = flat.reshape(-1, NUM_LANDMARKS, dims)  # null (world of undetected frames) stays zeros
    out: dict[str, np.ndarray] = {}
    order = np.argsort(ids, kind="stable")
    uniq, starts = np.unique(ids[order], return_index=True)
    for vid, lo, hi in zip(uniq, starts, [*starts[1:], len(order)]):
        sel = order[lo:hi]
        n = int(count.get(vid) or (fr[sel].max() + 1))
        dense = np.zeros((max(n, int(fr[sel].max()) + 1), NUM_LANDMARKS, dims), np.float32)
        dense[fr[sel]] = rows[sel]
        out[str(vid)] = dense[sample_indices(n, frames)] if frames else dense[:n]
    return out


def _pick_source(ids: np.ndarray, sources: np.ndarray, source: str | None) -> np.ndarray:
    """Mask of the rows of the chosen source, one source per clip."""
    if source is not None:
        return (sources == source) | np.char.startswith(sources.astype(str), source)
    import pandas as pd

    df = pd.DataFrame({"video_id": ids, "source": sources})
    pairs = df.drop_duplicates()
    pairs = pairs.assign(other=~pairs["source"].str.startswith("mediapipe")).sort_values(["video_id", "other", "source"])
    chosen = pairs.drop_duplicates("video_id").set_index("video_id")["source"]
    return (df["source"].to_numpy() == chosen.reindex(df["video_id"]).to_numpy())
