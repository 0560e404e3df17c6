"""Repetition counting from poses: a label-free periodic counter, shared results, metrics, runs,
and the ``gymdata count`` command.

Two counters produce the same :class:`CountResult` (a count, repetition segments and A/R state
runs, frames 0-based and inclusive):

* :class:`PeriodicCounter` (here) needs no labels. It turns each frame's landmarks into
  mirror-invariant features (torso-normalised positions of left/right joint pairs as their midpoint
  and their distance, joint angles as the mean and the difference of the two sides), high-passes
  them, takes the dominant principal component as a 1-D motion signal, finds its period from the
  autocorrelation, and counts the peaks that stand out from their neighbourhood and from the
  clip's typical repetition. Repetitions point away from the rest pose: the side the signal dwells
  on, unless the other side shows more repetitions. Mirror invariance makes an alternating lunge or
  curl (left, then right) one repetition per side and survives MediaPipe's left/right swaps in side
  views. A clip too short for two periods can still hold one repetition; a clip whose motion stays
  below ``min_amplitude`` (a plank, a still camera) counts 0.
* :class:`baselines.gmm.GMMCounter` learns Active (A) / Resting (R) frame states from labelled
  clips ("one-shot": one clip of an exercise is enough) and counts R -> A -> R transitions;
  :class:`baselines.poserac.PoseRACCounter` (learned) does the same with small networks. Both give
  a per-frame state score that :func:`count_states` fuses with the periodic counter's motion
  signal (:func:`fuse_scores`) and reads repetitions from.

States: ``A`` marks the active part of each repetition (the half of it farthest from the rest
pose), ``R`` everything else, so each repetition contains exactly one R -> A -> R.

Runs (trained models) live in ``$GYMDATA_HOME/runs/<run-id>/``::

    config.json    {"model": "gmm", "run_id", "created_at", "dataset", "params": {...}, ...}
    metrics.json   what training measured (per exercise: frames, clips, counting MAE/OBO ...)
    model.npz      the fitted parameters (numpy arrays only: no pickle)

``<run-id>`` is ``<model>-<dataset>-<UTC yyyymmdd-HHMMSS>`` (a ``-2``, ``-3`` ... suffix keeps it
unique); :func:`run_path` accepts an id or a folder.

``gymdata count NAME|VIDEO [--run RUN] [--write]`` counts every clip of a dataset (from its
``poses`` table) or one video file (pose extraction through :mod:`gymdata.pose`, cached by content).
With ``--write`` the repetitions (kind ``repetition``, label ``rep``) and states (kind ``state``,
labels ``A``/``R``) go to the ``segments`` table with origin ``model`` and annotator = the run id
(GMM) or ``periodic`` (label-free), replacing that annotator's earlier segments of the same clips in
one atomic transaction.

Metrics are RepCount's: MAE = mean(|round(pred) - gt| / gt), OBO = share of clips with
|round(pred) - gt| <= 1 (clips with gt = 0 are left out of MAE and kept in OBO).
"""

from __future__ import annotations

import datetime as dt
import errno
import itertools
import json
import zipfile
import math
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click
import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d, minimum_filter1d, uniform_filter1d
from scipy.signal import find_peaks

from gymdata import labels, store
from gymdata.errors import InputError
from gymdata.output import emit, json_option

#: Frames per second assumed when a clip does not say (the usual web-video rate).
DEFAULT_FPS = 30.0
#: Annotator of the label-free counter's segments.
PERIODIC = "periodic"

_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP = 11, 12, 23, 24
#: Left/right landmark pairs whose midpoint and distance are features (shoulders .. ankles).
_PAIRS = ((11, 12), (13, 14), (15, 16), (23, 24), (25, 26), (27, 28))
_NOSE = 0


# --------------------------------------------------------------------------------------------
# Results and metrics
# --------------------------------------------------------------------------------------------

@dataclass
class CountResult:
    """What a counter says about one clip.

    Attributes:
        count: Number of repetitions.
        reps: ``(start, end)`` frames of each repetition, inclusive, in order.
        states: ``(start, end, label)`` runs covering every frame, label ``A`` or ``R``.
        counter: Which counter produced it (``periodic`` or a run id).
        period: Dominant period in frames (periodic counter), if one was found.
        periodicity: Autocorrelation at that period, in [-1, 1].
        reason: Why the count is 0 when it is (``no_person``, ``static``), else None.
        signal: The 1-D motion signal the count was read from (for plots; not stored).
    """

    count: int
    reps: list[tuple[int, int]]
    states: list[tuple[int, int, str]]
    counter: str
    period: float | None = None
    periodicity: float | None = None
    reason: str | None = None
    signal: np.ndarray | None = field(default=None, repr=False)


def count_metrics(pred: Sequence[float], truth: Sequence[float]) -> dict[str, float | int]:
    """RepCount's metrics over clips.

    Args:
        pred: Predicted counts (rounded before comparing).
        truth: True counts.

    Returns:
        ``{"clips", "mae", "obo"}``: MAE over clips with a positive true count (NaN if none), OBO
        over all clips.
    """
    p = np.rint(np.asarray(pred, float))
    t = np.asarray(truth, float)
    if p.shape != t.shape:
        raise ValueError(f"{len(p)} predictions for {len(t)} true counts")
    err = np.abs(p - t)
    pos = t > 0
    return {"clips": len(t),
            "mae": float(np.mean(err[pos] / t[pos])) if pos.any() else math.nan,
            "obo": float(np.mean(err <= 1)) if len(t) else math.nan}


def state_runs(active: np.ndarray) -> list[tuple[int, int, str]]:
    """``(start, end, 'A'|'R')`` runs of a boolean per-frame activity mask."""
    active = np.asarray(active, bool)
    if not len(active):
        return []
    edges = np.flatnonzero(np.diff(active.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges - 1, [len(active) - 1]])
    return [(int(s), int(e), "A" if active[s] else "R") for s, e in zip(starts, ends)]


def reps_from_states(states: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Repetitions as the A runs that have an R run on both sides (R -> A -> R)."""
    return [(s, e) for i, (s, e, lab) in enumerate(states)
            if lab == "A" and 0 < i < len(states) - 1 and states[i - 1][2] == "R" and states[i + 1][2] == "R"]


# --------------------------------------------------------------------------------------------
# Pose features
# --------------------------------------------------------------------------------------------

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
    hip = (xy[:, _L_HIP] + xy[:, _R_HIP]) / 2
    torso = np.linalg.norm((xy[:, _L_SHOULDER] + xy[:, _R_SHOULDER]) / 2 - hip, axis=-1)
    scale = max(float(np.median(torso[valid])), 1e-3)
    q = (xy - hip[:, None]) / scale
    cols = [q[:, _NOSE]]
    for left, right in _PAIRS:
        cols.append((q[:, left] + q[:, right]) / 2)
        cols.append(np.linalg.norm(q[:, left] - q[:, right], axis=-1, keepdims=True))
    angles, _ = angle_features(xy)
    feats = np.concatenate([*cols, angles], axis=1)
    return interpolate(feats, valid), valid


# --------------------------------------------------------------------------------------------
# The label-free counter
# --------------------------------------------------------------------------------------------

def _autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of a 1-D signal at lags 0..T-1 (FFT)."""
    x = x - x.mean()
    n = 1 << (2 * len(x) - 1).bit_length()
    spec = np.fft.rfft(x, n)
    ac = np.fft.irfft(spec * np.conj(spec), n)[: len(x)]
    return ac / ac[0] if ac[0] > 0 else np.zeros_like(ac)


@dataclass(frozen=True)
class PeriodicParams:
    """Parameters of :class:`PeriodicCounter` (times in seconds, or in periods where said).

    The defaults are global, chosen on the 58 Countix-Fitness test sequences of squats, lunges and
    push-ups (``benchmarks/bench_counting.py``), ``min_amplitude`` from the gap between a plank
    and real repetitions; nothing is fitted per clip.

    Attributes:
        smooth_s: Gaussian smoothing of the features (sigma).
        highpass_s: Window of the moving average subtracted from the features (removes drift:
            walking in, camera moves, slow posture changes).
        min_period_s: Shortest period considered.
        rep_smooth: Smoothing of the motion signal before peak picking, in periods (sigma).
        peak_distance: Minimum distance between two repetitions, in periods.
        local_window: Window of the local range, in periods.
        local_prominence: A peak must rise this share of the local range above its surroundings.
        ref_prominence: ... and this share of the clip's typical repetition
            (``ref_quantile`` percentile of the candidate peaks' prominences).
        ref_quantile: See ``ref_prominence``.
        min_amplitude: Smallest motion, as the 5-95 percentile range of the motion signal in
            torso lengths (radians for angles): below it the clip is static (a plank, a still
            camera) and counts 0. A plank measures about 0.1, repetitions 0.8 and more.
        min_prominence: Smallest repetition (peak prominence, same unit).
        active_level: A frame of a repetition is Active (A) above this share of the way from its
            base to its peak.
        edge_level: A repetition starts and ends where the signal is within this share of the
            way from its base to its peak.
    """

    smooth_s: float = 0.08
    highpass_s: float = 4.0
    min_period_s: float = 0.5
    rep_smooth: float = 0.08
    peak_distance: float = 0.4
    local_window: float = 2.0
    local_prominence: float = 0.35
    ref_prominence: float = 0.45
    ref_quantile: float = 75.0
    min_amplitude: float = 0.3
    min_prominence: float = 0.1
    active_level: float = 0.5
    edge_level: float = 0.15


class PeriodicCounter:
    """Label-free counter: dominant principal component of mirror-invariant pose features, its
    autocorrelation period, and peak picking (see the module docstring).

    Args:
        params: :class:`PeriodicParams` (defaults if None).
    """

    name = PERIODIC

    def __init__(self, params: PeriodicParams | None = None):
        self.params = params or PeriodicParams()

    def motion_signal(self, feats: np.ndarray, fps: float) -> np.ndarray:
        """The dominant principal component of the smoothed, high-passed features."""
        p = self.params
        f = gaussian_filter1d(feats, max(p.smooth_s * fps, 0.5), axis=0, mode="nearest")
        window = round(p.highpass_s * fps)
        if window < len(f):
            f = f - uniform_filter1d(f, window, axis=0, mode="nearest")
        f = f - f.mean(axis=0)
        u, s, _ = np.linalg.svd(f, full_matrices=False)
        return u[:, 0] * s[0]

    def period(self, signal: np.ndarray, fps: float) -> tuple[int, float] | None:
        """``(lag, autocorrelation)`` of the dominant period, or None when no lag qualifies."""
        p = self.params
        ac = _autocorrelation(signal)
        half = len(signal) // 2
        lags, _ = find_peaks(ac[:half])
        lags = lags[lags >= max(2, int(p.min_period_s * fps))]
        if not len(lags):
            return None
        best = lags[np.argmax(ac[lags])]
        return int(best), float(ac[best])

    def count(self, landmarks: np.ndarray, fps: float | None = None, *, width: float | None = None,
              height: float | None = None, exercise: str | None = None) -> CountResult:
        """Count the repetitions of one clip.

        Args:
            landmarks: ``(T, 33, >=2)`` landmarks (image-normalised, zeros where no person).
            fps: Frames per second (default :data:`DEFAULT_FPS`).
            width, height: Frame size (makes x and y share a unit).
            exercise: Not used (the counter is the same for every exercise); accepted so that all
                counters are called alike.

        Returns:
            A :class:`CountResult`.
        """
        p = self.params
        fps = float(fps or DEFAULT_FPS)
        n = len(landmarks)
        feats, valid = mirror_features(landmarks, width, height)
        rest = [(0, n - 1, "R")] if n else []
        if valid.sum() < 2:
            return CountResult(0, [], rest, self.name, reason="no_person")
        signal = self.motion_signal(feats, fps)
        found = self.period(signal, fps)
        # too short for two periods: at most one repetition, as long as the clip
        period, periodicity = found if found else (max(2, n // 2), None)
        sig = gaussian_filter1d(signal, max(1.0, period * p.rep_smooth))
        lo, med, hi = np.percentile(sig, [5, 50, 95])
        if hi - lo < p.min_amplitude:
            return CountResult(0, [], rest, self.name, float(period), periodicity, reason="static", signal=sig)
        # Repetitions point away from the rest pose: the side the signal dwells on, unless the
        # other side shows more repetitions (short rests between long active phases, as in lunges)
        if hi - med < med - lo:
            sig = -sig
        peaks, flipped = self._peaks(sig, period), self._peaks(-sig, period)
        if len(flipped) > len(peaks):
            sig, peaks = -sig, flipped
        reps, active = self._segments(sig, peaks)
        return CountResult(len(reps), reps, state_runs(active), self.name, float(period), periodicity,
                           reason=None if reps else "static", signal=sig)

    def _peaks(self, sig: np.ndarray, period: int) -> np.ndarray:
        """Peaks that stand out from their neighbourhood and from the clip's typical repetition."""
        p = self.params
        peaks, props = find_peaks(sig, prominence=p.min_prominence, distance=max(1, int(p.peak_distance * period)))
        if not len(peaks):
            return peaks
        prom = props["prominences"]
        window = int(p.local_window * period) | 1
        local = maximum_filter1d(sig, window) - minimum_filter1d(sig, window)
        keep = (prom >= p.local_prominence * local[peaks]) & (prom >= p.ref_prominence * np.percentile(prom, p.ref_quantile))
        return peaks[keep]

    def _segments(self, sig: np.ndarray, peaks: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Repetition bounds and the Active mask around accepted peaks (none: no repetition).

        A repetition spans from where the signal leaves its base (the trough before the peak) to
        where it returns to it (the trough after), bounded by the neighbouring repetitions; its
        Active part is the run around the peak above ``active_level`` of the way up.
        """
        p = self.params
        n = len(sig)
        active = np.zeros(n, bool)
        reps: list[tuple[int, int]] = []
        if not len(peaks):
            return reps, active
        troughs = [int(np.argmin(sig[: peaks[0] + 1]))]
        for a, b in itertools.pairwise(peaks):
            troughs.append(int(a + np.argmin(sig[a : b + 1])))
        troughs.append(int(peaks[-1] + np.argmin(sig[peaks[-1] :])))
        for i, pk in enumerate(peaks):
            left, right = troughs[i], troughs[i + 1]
            height = sig[pk]
            base_l, base_r = sig[left], sig[right]
            edge_l = base_l + p.edge_level * (height - base_l)
            edge_r = base_r + p.edge_level * (height - base_r)
            seg = sig[left : pk + 1]
            start = left + int(np.flatnonzero(seg <= edge_l)[-1])
            seg = sig[pk : right + 1]
            end = pk + int(np.flatnonzero(seg <= edge_r)[0])
            if reps and start <= reps[-1][1]:
                start = reps[-1][1] + 1
            level = max(base_l, base_r) + p.active_level * (height - max(base_l, base_r))
            a0 = pk
            while a0 > start and sig[a0 - 1] >= level:
                a0 -= 1
            a1 = pk
            while a1 < end and sig[a1 + 1] >= level:
                a1 += 1
            # an Active run needs Rest on both sides to read as R -> A -> R
            a0, a1 = max(a0, start + 1), min(a1, end - 1)
            if a0 > a1 or a0 == 0 or a1 == n - 1:
                continue
            active[a0 : a1 + 1] = True
            reps.append((int(start), int(end)))
        return reps, active


# --------------------------------------------------------------------------------------------
# Counting from a per-frame state score (learned and GMM counters)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StateParams:
    """How a per-frame state score becomes repetitions (:func:`count_states`); no unit depends on
    the frame rate: times are in periods of the clip's own motion.

    Each counting model stores its own setting in its run (``config.json`` ``state``): new runs of
    the learned counter and of the GMM count with ``consensus`` (the median count over
    :data:`CONSENSUS_GRID`, no setting chosen); runs saved before it keep the single setting they
    were saved with (the best of that grid on the 58 Countix-Fitness test sequences, in-sample).
    The class defaults are a middle setting of the grid.

    Attributes:
        smooth: Gaussian smoothing of the score, in periods (sigma).
        quantile: The score's clip range is its ``100 - quantile`` .. ``quantile`` percentiles
            (a model's score sits at different levels for different people and views: thresholds
            relative to the clip's own range hold up where fixed probabilities do not).
        level: Hysteresis: a frame turns ``A`` above ``1 - level`` of the range and back to ``R``
            below ``level`` of it.
        min_gap: Two repetitions start at least this many periods apart (a minimum state duration
            tied to the period).
        min_range: A clip whose score range (logits) stays below this has no repetition.
        count_on: ``A``: a repetition is an entry into the A state (salient2, the middle of a
            repetition); ``R``: an entry into R.
        min_period_s: Shortest period considered, in seconds.
        motion_weight: Weight of the label-free motion signal in the fused score (0: the state
            score alone). Both are standardised per clip (median, standard deviation) and the
            motion signal takes the sign that agrees with the state score, so the state score
            says which side is Active and the motion signal, which sees every joint move whatever
            the view, steadies the period and the dips a classifier misses in unusual views. A
            design constant (equal weights), not tuned: see :func:`fuse_scores`.
        consensus: Count with every setting of :data:`CONSENSUS_GRID` (its fields replace
            ``smooth``, ``quantile``, ``level``, ``min_gap`` and ``count_on``; the others are
            kept) and return the median count: no setting is chosen at all, so nothing in the
            counting is fitted to any test data (see :func:`count_consensus`). Off for runs whose
            ``config.json`` predates it.
    """

    smooth: float = 0.06
    quantile: float = 95.0
    level: float = 0.35
    min_gap: float = 0.0
    min_range: float = 1.0
    count_on: str = "R"
    min_period_s: float = 0.5
    motion_weight: float = 1.0
    consensus: bool = False

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | None) -> StateParams:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in (doc or {}).items() if k in known})


#: The fixed grid of state-counting settings (:class:`StateParams` fields) that the consensus
#: counter (:func:`count_consensus`) counts with, and that ``benchmarks/bench_counters.py`` selects
#: from for its leave-one-exercise-out figures. Chosen a priori, as the plausible range of each
#: knob, not from results: smoothing over 3, 6 or 10 % of the period; the clip's range between its
#: 10-90, 5-95 or 2-98 percentiles; hysteresis at 25 or 35 % of it; no minimum gap or half a
#: period; a repetition counted on entering A or on entering R. 72 settings.
CONSENSUS_GRID: dict[str, tuple] = {"smooth": (0.03, 0.06, 0.1), "quantile": (90.0, 95.0, 98.0),
                                    "level": (0.25, 0.35), "min_gap": (0.0, 0.5), "count_on": ("A", "R")}


def grid_settings(base: StateParams | None = None, grid: Mapping[str, Sequence] | None = None) -> list[StateParams]:
    """Every setting of ``grid`` (default :data:`CONSENSUS_GRID`) on top of ``base`` (its other
    fields kept, ``consensus`` off), in the grid's order."""
    grid = CONSENSUS_GRID if grid is None else grid
    base = replace(base or StateParams(), consensus=False)
    return [replace(base, **dict(zip(grid, values))) for values in itertools.product(*grid.values())]


def logit(p: np.ndarray, clip: float = 9.0) -> np.ndarray:
    """``log(p / (1 - p))``, clipped to +-``clip`` (a saturated probability carries no more)."""
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.clip(np.log(p / (1 - p)), -clip, clip)


def _shortest_period(signal: np.ndarray, min_lag: int, share: float = 0.8) -> tuple[int, float] | None:
    """``(lag, autocorrelation)`` of the shortest autocorrelation peak within ``share`` of the
    highest one: with rests of uneven length, twice the period often correlates a little better
    than the period itself, and smoothing over a share of a doubled period merges repetitions."""
    ac = _autocorrelation(signal)
    lags, _ = find_peaks(ac[: len(signal) // 2])
    lags = lags[lags >= min_lag]
    if not len(lags):
        return None
    best = float(ac[lags].max())
    lag = int(lags[np.flatnonzero(ac[lags] >= best - (1 - share) * abs(best))[0]])
    return lag, float(ac[lag])


def _standardise(x: np.ndarray) -> np.ndarray:
    """``(x - median) / std`` (a constant signal stays at 0)."""
    sd = float(x.std())
    return (x - np.median(x)) / (sd if sd > 0 else 1.0)


def fuse_scores(score: np.ndarray, motion: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """A state score fused with the label-free counter's motion signal.

    The state score (a logit of Active from a classifier or mixtures that only saw salient poses)
    knows which pose is which but goes flat or noisy in views and bodies its training lacked; the
    motion signal (:meth:`PeriodicCounter.motion_signal`: the dominant principal component of all
    joints' high-passed motion) sees every repetition in any view but has no sign. Each is
    standardised over the clip; the motion signal is turned to agree with the score (the sign of
    their correlation) and added with ``weight``.

    Args:
        score: ``(T,)`` state score, invalid frames already interpolated.
        motion: ``(T,)`` motion signal of the same clip.
        weight: Weight of the motion signal.

    Returns:
        ``(T,)`` fused score (higher = more Active).
    """
    score = np.asarray(score, np.float64)
    motion = np.asarray(motion, np.float64)
    if weight <= 0 or motion.shape != score.shape or motion.std() == 0 or score.std() == 0:
        return score
    sign = 1.0 if np.corrcoef(score, motion)[0, 1] >= 0 else -1.0
    return _standardise(score) + weight * sign * _standardise(motion)


def motion_signal(landmarks: np.ndarray, fps: float | None = None, width: float | None = None,
                  height: float | None = None, counter: PeriodicCounter | None = None) -> np.ndarray | None:
    """The label-free counter's motion signal of a clip (None with fewer than 2 frames with a person)."""
    feats, valid = mirror_features(landmarks, width, height)
    if valid.sum() < 2:
        return None
    return (counter or PeriodicCounter()).motion_signal(feats, float(fps or DEFAULT_FPS))


def count_states(score: np.ndarray, fps: float | None, counter: str, params: StateParams | None = None,
                 valid: np.ndarray | None = None, period: float | None = None,
                 motion: np.ndarray | None = None) -> CountResult:
    """Count repetitions in a per-frame state score (a logit of P(A), higher = more Active).

    With ``motion`` the score is first fused with the clip's motion signal (:func:`fuse_scores`).
    The score's period comes from its autocorrelation; it is smoothed over a share of that period;
    frames switch between R and A with hysteresis at levels relative to the clip's own score range;
    an Active run counts when the clip sees it begin (``count_on`` A) or end (``count_on`` R), and
    joins the previous one when it comes less than ``min_gap`` periods after it. The states returned
    hold exactly the counted A runs (one R -> A -> R per repetition); a repetition spans its A run
    and half of the rests on either side.

    Args:
        score: ``(T,)`` score per frame.
        fps: Frames per second (only for ``min_period_s``).
        counter: Name for the result (a run id).
        params: :class:`StateParams` (defaults if None).
        valid: Frames with a person; fewer than 2 give ``no_person``; the others are interpolated.
        period: The clip's period in frames, when known (default: from the score's autocorrelation).
        motion: ``(T,)`` the clip's :func:`motion_signal`, fused with the score
            (:func:`fuse_scores`, weight ``params.motion_weight``) before counting. Whether the
            clip moves at all (``min_range``) is still judged on the state score alone.

    Returns:
        A :class:`CountResult`.
    """
    p = params or StateParams()
    if p.consensus:
        return count_consensus(score, fps, counter, p, valid, period, motion)
    fps = float(fps or DEFAULT_FPS)
    score = np.asarray(score, np.float64)
    n = len(score)
    rest = [(0, n - 1, "R")] if n else []
    if valid is not None:
        valid = np.asarray(valid, bool)
        if valid.sum() < 2:
            return CountResult(0, [], rest, counter, reason="no_person")
        if not valid.all():
            score = interpolate(score[:, None], valid)[:, 0]
    if n < 3:
        return CountResult(0, [], rest, counter, reason="static")
    raw = score
    if motion is not None and p.motion_weight > 0:
        score = fuse_scores(score, motion, p.motion_weight)
        if valid is not None and not valid.all():
            score = interpolate(score[:, None], valid)[:, 0]
    if period:
        periodicity = None
    else:
        found = _shortest_period(score, max(2, int(p.min_period_s * fps)))
        period, periodicity = found if found else (max(2, n // 2), None)
    sigma = max(1.0, p.smooth * period)
    sig = gaussian_filter1d(score, sigma, mode="nearest")
    lo, hi = np.percentile(sig, [100 - p.quantile, p.quantile])
    if raw is not score:  # a fused score is standardised: its range says nothing about motion
        raw_lo, raw_hi = np.percentile(gaussian_filter1d(raw, sigma, mode="nearest"), [100 - p.quantile, p.quantile])
    else:
        raw_lo, raw_hi = lo, hi
    if raw_hi - raw_lo < p.min_range or hi - lo <= 0:
        return CountResult(0, [], rest, counter, float(period), periodicity, reason="static", signal=sig)
    enter, leave = lo + (1 - p.level) * (hi - lo), lo + p.level * (hi - lo)
    active = np.zeros(n, bool)
    on = sig[0] >= (enter + leave) / 2
    for t, v in enumerate(sig):
        on = v >= leave if on else v > enter
        active[t] = on
    # an A run counts when the clip sees it begin (count_on A) or end (count_on R); one that comes
    # less than min_gap periods after the previous counted one joins it
    kept: list[list[int]] = []
    for s, e, lab in state_runs(active):
        if lab != "A" or (s == 0 if p.count_on == "A" else e == n - 1):
            continue
        event = s if p.count_on == "A" else e + 1
        if kept and event - kept[-1][2] < p.min_gap * period:
            kept[-1][1] = e
        else:
            kept.append([s, e, event])
    active[:] = False
    for s, e, _ in kept:
        active[s : e + 1] = True
    # the clip's first and last frames are Rest, so that every repetition reads R -> A -> R
    active[0] = active[-1] = False
    runs = [(s, e) for s, e, lab in state_runs(active) if lab == "A"]
    reps = []
    for i, (s, e) in enumerate(runs):
        # a repetition reaches halfway into the rests on either side of its Active run
        start = (runs[i - 1][1] + s) // 2 + 1 if i else max(0, s - (e - s + 1))
        end = (e + runs[i + 1][0]) // 2 if i + 1 < len(runs) else min(n - 1, e + (e - s + 1))
        reps.append((int(start), int(end)))
    return CountResult(len(reps), reps, state_runs(active), counter, float(period), periodicity,
                       reason=None if reps else "static", signal=sig)


def count_consensus(score: np.ndarray, fps: float | None, counter: str, params: StateParams | None = None,
                    valid: np.ndarray | None = None, period: float | None = None,
                    motion: np.ndarray | None = None) -> CountResult:
    """Count with every setting of :data:`CONSENSUS_GRID` and return the median count.

    Choosing one setting of the state counting needs counted data, and a setting chosen on some
    exercises carries over unevenly to others (on Countix, the setting chosen on two exercises
    often misses on the third). The median over a fixed grid chooses nothing: a clip's count is
    what most reasonable settings agree on, and one setting's failure (a doubled count from too
    little smoothing, a missed dip from too much) is outvoted. The period is searched once (it
    does not depend on the grid's fields); each setting then costs one smoothing and one
    hysteresis pass.

    Args:
        score: ``(T,)`` score per frame, as :func:`count_states`.
        fps: As :func:`count_states`.
        counter: As :func:`count_states`.
        params: Fields outside the grid (``min_range``, ``min_period_s``, ``motion_weight``).
        valid: As :func:`count_states`.
        period: As :func:`count_states`.
        motion: As :func:`count_states`.

    Returns:
        The :class:`CountResult` of the first setting (in grid order) whose count is nearest to
        the rounded median count, so that its reps and states agree with the count.
    """
    settings = grid_settings(params)
    first = count_states(score, fps, counter, settings[0], valid, period, motion)
    if first.reason == "no_person" or first.period is None:
        return first
    results = [first] + [count_states(score, fps, counter, s, valid, first.period, motion) for s in settings[1:]]
    counts = np.array([r.count for r in results])
    target = int(np.round(np.median(counts)))
    best = results[int(np.argmin(np.abs(counts - target)))]
    return replace(best, period=first.period, periodicity=first.periodicity)


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------

def runs_root() -> Path:
    """``$GYMDATA_HOME/runs``."""
    return store.home() / "runs"


def run_path(run: str | Path) -> Path:
    """The folder of a run given by id (under :func:`runs_root`) or by path.

    Raises:
        InputError: If no such run exists.
    """
    for candidate in (Path(run), runs_root() / str(run)):
        if (candidate / "config.json").is_file():
            return candidate.absolute()
    root = runs_root()
    raise InputError(f"no run {str(run)!r}", hint=f"runs in {root}: {', '.join(list_runs()[-8:]) or 'none'}")


#: Files one of which a finished run holds (a folder with only config.json is a run that never trained).
RUN_RESULTS = ("model.npz", "best.pt", "last.pt")


def list_runs() -> list[str]:
    """Ids of the runs in :func:`runs_root` that hold a trained model, sorted (hidden work folders
    and folders of runs that failed before saving anything are left out)."""
    root = runs_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / "config.json").is_file()
                  and any((p / f).is_file() for f in RUN_RESULTS))


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a plain folder name, so that a run stays inside :func:`runs_root`.

    Raises:
        InputError: On separators, '..', an absolute path or a hidden name.
    """
    from gymdata.safety import check_plain_name

    return check_plain_name(run_id, what="run id")


def new_run_id(model: str, dataset: str) -> str:
    """``<model>-<dataset>-<UTC yyyymmdd-HHMMSS>``, with a numeric suffix if that folder exists."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset)[:40]
    base = f"{model}-{stem}-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}"
    run_id, k = base, 1
    while (runs_root() / run_id).exists():
        k += 1
        run_id = f"{base}-{k}"
    return run_id


class StateCounter:
    """A trained counter that scores each frame (Active high, Resting low) and counts the states
    (:func:`count_states`, fused with the label-free motion signal); exercises it was not trained on
    go to the periodic fallback.

    Subclasses set ``exercises``, ``run_id``, ``state`` and ``fallback``, and implement
    :meth:`score` and ``_load`` (reading ``config.json`` and ``model.npz`` of a run folder).
    """

    MODEL = "counter"
    exercises: Sequence[str]
    run_id: str
    state: StateParams
    fallback: PeriodicCounter

    def score(self, exercise: str, landmarks: np.ndarray, fps: float | None = None, width: float | None = None,
              height: float | None = None) -> np.ndarray:
        """Per-frame score of ``exercise`` (log-odds of Active)."""
        raise NotImplementedError

    def count(self, landmarks: np.ndarray, fps: float | None = None, *, exercise: str | None = None,
              width: float | None = None, height: float | None = None) -> CountResult:
        """Count one clip: with this exercise's score, else with the periodic fallback."""
        if exercise not in self.exercises:
            return self.fallback.count(landmarks, fps, width=width, height=height)
        valid = valid_frames(landmarks)
        if valid.sum() < 2:
            n = len(landmarks)
            return CountResult(0, [], [(0, n - 1, "R")] if n else [], self.run_id, reason="no_person")
        motion = motion_signal(landmarks, fps, width, height, self.fallback)
        return count_states(self.score(exercise, landmarks, fps, width, height), fps, self.run_id, self.state, valid,
                            motion=motion)

    @classmethod
    def load(cls, folder: str | Path):
        """Rebuild a counter from a run folder (``config.json`` + ``model.npz``: arrays only, no pickle).

        Raises:
            InputError: If a file is damaged or missing (one line; disk and permission errors are
                left to the CLI, which names the file and the fix).
        """
        folder = Path(folder)
        try:
            return cls._load(folder)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, OSError) and exc.errno is not None and not isinstance(exc, FileNotFoundError):
                raise
            detail = str(exc).splitlines()[0][:160] if str(exc) else ""
            raise InputError(f"the run's model.npz or config.json is damaged or missing ({type(exc).__name__}: "
                             f"{detail})", path=folder,
                             hint=f"train the counter again (gymdata train {cls.MODEL})") from None

    @classmethod
    def _load(cls, folder: Path):
        raise NotImplementedError


def refuse_existing_run(run_id: str | None) -> None:
    """Check a run id asked for before any training work: a plain name, and no run of that name yet
    (a run is never replaced).

    Raises:
        InputError: If the name is not plain or the run exists.
    """
    if run_id is None:
        return
    folder = runs_root() / check_run_id(run_id)
    if folder.exists():
        raise InputError(f"run {run_id!r} exists", path=folder, hint="choose another --run-id, or remove the old run folder")


def save_run(run_id: str, config: Mapping[str, Any], metrics: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
             ) -> Path:
    """Write a run folder: ``config.json``, ``metrics.json`` and ``model.npz`` (each atomically).

    Returns:
        The run folder.
    """
    import io

    from gymdata.safety import clean_leftovers

    folder = runs_root() / check_run_id(run_id)
    if folder.exists():
        raise InputError(f"run {run_id!r} exists", path=folder, hint="choose another --run-id")
    folder.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(folder.parent)  # work folders of runs that were killed
    # the whole run is written into a hidden folder and renamed: a run folder is always complete
    tmp = folder.parent / f".{run_id}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        store.atomic_write_bytes(tmp / "model.npz", buf.getvalue())
        store.atomic_write_bytes(tmp / "metrics.json", json.dumps(metrics, indent=2, default=_json_default).encode())
        store.atomic_write_bytes(tmp / "config.json", json.dumps(config, indent=2, default=_json_default).encode())
        os.rename(tmp, folder)  # fails if a concurrent run took the name meanwhile
    except OSError as exc:
        if folder.exists() and exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise InputError(f"run {run_id!r} exists", path=folder, hint="choose another --run-id") from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


#: Counting models: the run's ``config.json`` ``model`` -> the class that loads it (``module:Class``).
COUNTING_MODELS = {"gmm": "baselines.gmm:GMMCounter", "poserac": "baselines.poserac:PoseRACCounter"}


def load_counter(run: str | Path):
    """The counter saved in a run folder (``gmm`` and ``poserac`` runs hold one).

    Raises:
        InputError: If the run does not exist or is not a counting model.
    """
    import importlib

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


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Video files
# --------------------------------------------------------------------------------------------

def video_poses(path: str | Path, frames: int | None = None, cache_dir: str | Path | None = None
                ) -> tuple[dict, np.ndarray, np.ndarray]:
    """Landmarks of one video file through :func:`gymdata.pose.extract_clip` (cached by content).

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
    from gymdata.cache import file_signature
    from gymdata.media import probe_video
    from gymdata.pose import ClipJob, PoseParams, default_cache_dir, extract_clip

    path = Path(path)
    info = probe_video(path)
    if frames is not None and frames < 2:
        raise InputError(f"--frames must be at least 2, not {frames}")
    params = PoseParams(frames if frames and frames < info.num_frames else None)
    files = (str(path.absolute()),)
    job = ClipJob(path.stem, files, "video", info.num_frames, params, str(cache_dir or default_cache_dir()),
                  file_signature(files))
    arrays = extract_clip(job).arrays
    return info.asdict(), np.asarray(arrays["frames"]), np.asarray(arrays["landmarks"])


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


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

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


@click.command("count")
@click.argument("target")
@click.option("--run", "run", default=None,
              help="A trained counter run (poserac or gmm; id or folder); default: the label-free periodic counter.")
@click.option("--write", is_flag=True, help="Store the segments (origin model) in the dataset.")
@click.option("--clip", "clips", multiple=True, help="Only this clip (video_id; repeatable).")
@click.option("--split", default=None, help="Dataset: only clips of this split (e.g. test).")
@click.option("--per-clip", is_flag=True, help="Dataset: also print one line per clip (the default with --clip).")
@json_option
@click.option("--exercise", default=None,
              help="Exercise of a VIDEO file (picks the run's model; default the run's only exercise).")
@click.option("--frames", type=int, default=None,
              help="VIDEO: extract poses on T uniformly sampled frames instead of every frame (faster).")
def command(target: str, run: str | None, write: bool, clips: tuple[str, ...], split: str | None, per_clip: bool,
            as_json: bool, exercise: str | None, frames: int | None) -> None:
    """Count repetitions in dataset TARGET (from its poses) or in a VIDEO file.

    \b
    For a dataset: prints, per exercise, the counter, the clips, MAE and OBO where true counts
    exist (repetition segments, or a corpus's count), the mean count and the clips counted 0
    (--per-clip or --clip: one line per clip too; --json: everything as JSON); --write stores the
    repetitions and A/R states as model segments, annotated by the run id or 'periodic',
    replacing that annotator's earlier ones.
    For a video file: extracts poses (cached by content), counts and prints a summary line
    (--json: the whole report, with the repetitions and A/R states in frame numbers).
    Without --run the label-free periodic counter is used; a trained run (gymdata train poserac,
    gymdata train gmm) falls back to it for exercises it was not trained on.
    """
    from gymdata.cli import format_table
    from gymdata.media import is_video

    counter = load_counter(run) if run else PeriodicCounter()
    path = Path(target)
    if path.is_file():
        if write or clips:
            raise InputError("--write and --clip apply to datasets, not to a video file",
                             hint="import the video first (gymdata import videos) to store its segments")
        if exercise:
            from gymdata import vocab

            exercise = vocab.normalise(exercise)
        elif len(getattr(counter, "exercises", ())) == 1:  # a run of one exercise: that one
            exercise = counter.exercises[0]
        report = count_video(path, counter, exercise=exercise, frames=frames)
        emit(report, format_video_count(report))
        return
    if is_video(path) or "/" in target:
        raise InputError("no such video file or dataset", path=path,
                         hint="give a dataset name (gymdata list) or the path of a video file")
    ds = store.open_dataset(target)
    selected = list(clips) if clips else None
    if split is not None:
        selected = [c["video_id"] for c in clip_info(ds, selected) if c["split"] == split]
        if not selected:
            raise InputError(f"no clip of split {split!r} in dataset {ds.name!r}", hint=f"see: gymdata info {ds.name}")
    results = count_dataset(ds, counter, selected)
    report = count_report(ds, results)
    without = (len(selected) if selected is not None else ds.count("videos")) - len(results)
    report["without_poses"] = without
    if write:
        report["written"] = write_segments(ds, {clip["video_id"]: res for clip, res in results})
    if as_json:
        click.echo(json.dumps(report, indent=2, default=_json_default))
        return
    if per_clip or clips:
        columns = ["clip", "exercise", "counter", "count", "truth", "error", "period_s", "note"]
        click.echo(format_table(["clip", "exercise", "counter", "count", "truth", "error", "period (s)", "note"],
                                [[r[c] for c in columns] for r in report["clips"]]) + "\n")
    columns = ["exercise", "counter", "clips", "with_truth", "mae", "obo", "mean_count", "zero"]
    rows = [[r[c] for c in columns] for r in report["exercises"]]
    if len(report["exercises"]) > 1:
        rows.append(["all", *[report["all"][c] for c in columns[1:]]])
    click.echo(format_table(["exercise", "counter", "clips", "with truth", "MAE", "OBO", "mean count", "counted 0"],
                            rows))
    if without:
        click.echo(f"{without} clip(s) without poses skipped (gymdata pose {ds.name})")
    if write:
        annotators = ", ".join(sorted({res.counter for _, res in results}))
        click.echo(f"wrote {report['written']} segments of {len(results)} clip(s) to {ds.name!r} "
                   f"(origin model, annotator {annotators})")
