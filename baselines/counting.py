"""Repetition counting from poses: the label-free periodic counter, counting from a per-frame
state score, the shared result type and RepCount's metrics.

Two kinds of counters produce the same :class:`CountResult` (a count, repetition segments and A/R
state runs, frames 0-based and inclusive):

* :class:`PeriodicCounter` (here) needs no labels. It turns each frame's landmarks into
  mirror-invariant features (:func:`baselines.counter_features.mirror_features`), high-passes
  them, takes the dominant principal component as a 1-D motion signal, finds its period from the
  autocorrelation, and counts the peaks that stand out from their neighbourhood and from the
  clip's typical repetition. Repetitions point away from the rest pose: the side the signal dwells
  on, unless the other side shows more repetitions. Mirror invariance makes an alternating lunge or
  curl (left, then right) one repetition per side and survives MediaPipe's left/right swaps in side
  views. A clip too short for two periods can still hold one repetition; a clip whose motion stays
  below ``min_amplitude`` (a plank, a still camera) counts 0.
* Trained counters (:class:`StateCounter`: :class:`baselines.gmm.GMMCounter`, learned from
  Active (A) / Resting (R) frames, "one-shot": one clip of an exercise is enough, and
  :class:`baselines.poserac.PoseRACCounter`, small networks) give a per-frame state score that
  :func:`count_states` fuses with the periodic counter's motion signal (:func:`fuse_scores`) and
  reads R -> A -> R transitions from.

States: ``A`` marks the active part of each repetition (the half of it farthest from the rest
pose), ``R`` everything else, so each repetition contains exactly one R -> A -> R.

Where the rest lives: run folders in :mod:`baselines.runs`, datasets, video files, true counts
and ``count --write`` in :mod:`baselines.counting_data`, the ``gymdata count`` command in
:mod:`baselines.cli`.

Metrics are RepCount's: MAE = mean(|round(pred) - gt| / gt), OBO = share of clips with
|round(pred) - gt| <= 1 (clips with gt = 0 are left out of MAE and kept in OBO).
"""

from __future__ import annotations

import itertools
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d, minimum_filter1d, uniform_filter1d
from scipy.signal import find_peaks

from gymdata.errors import InputError
from baselines.counter_features import interpolate, mirror_features, valid_frames

#: Frames per second assumed when a clip does not say (the usual web-video rate).
DEFAULT_FPS = 30.0
#: Annotator of the label-free counter's segments.
PERIODIC = "periodic"

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
# Trained counters: the shared base
# --------------------------------------------------------------------------------------------

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
