"""Metrics of the baselines, as the source projects define them.

* Criteria (ALEX-GYM-1): :func:`hamming_loss` (the fraction of wrong verdicts over all known
  sample x criterion verdicts) and per criterion :func:`binary_counts` -> accuracy, F1 of the
  "met" class, of the "failed" class and their mean (ALEX-GYM-1's ``f1_avg``); both computed by
  scikit-learn on the known verdicts.
* Scores (scoring projects): :func:`mae` and :func:`rmse` in score units (0..100).
* Scores (FLEX): :func:`spearman_rho` of predicted vs true scores, and :func:`relative_l2` =
  mean(((pred - true) / (max - min))^2), ``max - min`` being the span of the score scale.

:func:`evaluate` gathers them into one JSON-able report with a row per exercise and one for
everything, and :func:`format_report` prints it as the tables ``gymdata evaluate`` shows.
Unknown verdicts (a criterion not judged for a sample, or not of its exercise) are masked out
everywhere: they are neither right nor wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: A criterion counts as met when its predicted probability is at least this (ALEX-GYM-1: 0.5).
THRESHOLD = 0.5


def _masked(y_true, y_pred, mask) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shapes differ: true {y_true.shape}, predicted {y_pred.shape}")
    if mask is None:
        return y_true.ravel(), y_pred.ravel()
    mask = np.asarray(mask, bool)
    return y_true[mask], y_pred[mask]


def hamming_loss(y_true, y_pred, mask=None) -> float:
    """Fraction of wrong verdicts: ``1/(N L) sum_ij [y_ij != yhat_ij]`` over the known ones.

    Args:
        y_true: ``(N, L)`` 0/1 (1 = criterion met).
        y_pred: ``(N, L)`` 0/1 predictions (thresholded).
        mask: ``(N, L)`` bool, True where the verdict is known (default: all).

    Returns:
        The loss in [0, 1], NaN when no verdict is known.
    """
    from sklearn.metrics import hamming_loss as sk_hamming_loss  # a slow import: only when measuring

    t, p = _masked(y_true, y_pred, mask)
    return float(sk_hamming_loss(t, p)) if t.size else math.nan


def binary_counts(y_true, y_pred, mask=None) -> dict[str, float]:
    """Confusion counts of one criterion and what ALEX-GYM-1 derives from them.

    Returns:
        ``n``, ``tp``/``tn``/``fp``/``fn`` (positive = met), ``accuracy``, ``f1_met``,
        ``f1_failed`` and ``f1`` (their mean); an F1 whose class never occurs nor is predicted is
        NaN and left out of the mean.
    """
    from sklearn.metrics import f1_score

    t, p = _masked(y_true, y_pred, mask)
    tp, tn = int(np.sum(t & p)), int(np.sum(~t & ~p))
    fp, fn = int(np.sum(~t & p)), int(np.sum(t & ~p))
    # F1 of each class, NaN for a class that neither occurs nor is predicted
    f1_met, f1_failed = (float(v) for v in f1_score(t, p, labels=[True, False], average=None, zero_division=np.nan)
                         ) if t.size else (math.nan, math.nan)
    both = [v for v in (f1_met, f1_failed) if not math.isnan(v)]
    return {"n": int(t.size), "tp": tp, "tn": tn, "fp": fp, "fn": fn,
            "accuracy": (tp + tn) / t.size if t.size else math.nan,
            "f1_met": f1_met, "f1_failed": f1_failed, "f1": float(np.mean(both)) if both else math.nan}


def _pairs(pred, true) -> tuple[np.ndarray, np.ndarray]:
    pred, true = np.asarray(pred, float).ravel(), np.asarray(true, float).ravel()
    if pred.shape != true.shape:
        raise ValueError(f"shapes differ: predicted {pred.shape}, true {true.shape}")
    keep = np.isfinite(pred) & np.isfinite(true)
    return pred[keep], true[keep]


def mae(pred, true) -> float:
    """Mean absolute error (in the scores' units); NaN pairs are skipped."""
    p, t = _pairs(pred, true)
    return float(np.mean(np.abs(p - t))) if p.size else math.nan


def rmse(pred, true) -> float:
    """Root mean squared error (in the scores' units); NaN pairs are skipped."""
    p, t = _pairs(pred, true)
    return float(np.sqrt(np.mean((p - t) ** 2))) if p.size else math.nan


def spearman_rho(pred, true) -> float:
    """Spearman's rank correlation (FLEX); NaN with fewer than 2 pairs or a constant side."""
    from scipy.stats import spearmanr

    p, t = _pairs(pred, true)
    if p.size < 2 or np.all(p == p[0]) or np.all(t == t[0]):
        return math.nan
    return float(spearmanr(p, t).statistic)


def relative_l2(pred, true, scale: tuple[float, float] = (0.0, 100.0)) -> float:
    """FLEX's relative L2 distance: ``mean(((pred - true) / (max - min))^2)``.

    Args:
        pred, true: Scores.
        scale: ``(min, max)`` of the score scale (FLEX: 0..100).
    """
    p, t = _pairs(pred, true)
    span = float(scale[1] - scale[0])
    if span <= 0:
        raise ValueError(f"empty score scale {scale}")
    return float(np.mean(((p - t) / span) ** 2)) if p.size else math.nan


@dataclass
class Predictions:
    """What a model predicted for a set of samples, beside the truth (numpy arrays, N samples).

    Attributes:
        exercise: ``(N,)`` true exercise ids.
        criteria_prob: ``(N, W)`` probability that each criterion slot of the sample's exercise is met.
        criteria_true: ``(N, W)`` 0/1 truth.
        criteria_mask: ``(N, W)`` known verdicts.
        exercise_prob: ``(N, E)`` recognised-exercise probabilities, if the model has that head.
        score_pred, score_true: ``(N,)`` scores on 0..100, if the model predicts a score.
    """

    exercise: np.ndarray
    criteria_prob: np.ndarray | None = None
    criteria_true: np.ndarray | None = None
    criteria_mask: np.ndarray | None = None
    exercise_prob: np.ndarray | None = None
    score_pred: np.ndarray | None = None
    score_true: np.ndarray | None = None
    units: list[str] = field(default_factory=list)

    def select(self, keep: np.ndarray) -> Predictions:
        """The samples where ``keep`` is true."""
        pick = lambda a: None if a is None else a[keep]  # noqa: E731
        return Predictions(self.exercise[keep], pick(self.criteria_prob), pick(self.criteria_true),
                           pick(self.criteria_mask), pick(self.exercise_prob), pick(self.score_pred),
                           pick(self.score_true), [u for u, k in zip(self.units, keep) if k] if self.units else [])


def _summary(p: Predictions, threshold: float, scale: tuple[float, float]) -> dict:
    row: dict = {"samples": int(len(p.exercise))}
    if p.criteria_prob is not None:
        verdict = p.criteria_prob >= threshold
        row["verdicts"] = int(np.sum(p.criteria_mask))
        row["hamming_loss"] = hamming_loss(p.criteria_true, verdict, p.criteria_mask)
        counts = binary_counts(p.criteria_true, verdict, p.criteria_mask)
        row.update(accuracy=counts["accuracy"], f1=counts["f1"])
    if p.exercise_prob is not None:
        row["exercise_accuracy"] = float(np.mean(p.exercise_prob.argmax(1) == p.exercise)) if len(p.exercise) else math.nan
    if p.score_pred is not None:
        row.update(mae=mae(p.score_pred, p.score_true), rmse=rmse(p.score_pred, p.score_true),
                   spearman=spearman_rho(p.score_pred, p.score_true),
                   relative_l2=relative_l2(p.score_pred, p.score_true, scale))
    return row


def evaluate(p: Predictions, exercises: Sequence[str], criteria: dict[str, Sequence[str]], *,
             threshold: float = THRESHOLD, scale: tuple[float, float] = (0.0, 100.0)) -> dict:
    """Every metric that applies to ``p``, overall, per exercise and per criterion.

    Args:
        p: The predictions.
        exercises: Exercise names in id order.
        criteria: Criterion names per exercise, in slot order.
        threshold: Probability from which a criterion counts as met.
        scale: Score scale for the relative L2 (scores are on 0..100).

    Returns:
        ``{"overall": row, "per_exercise": {name: row}, "criteria": [row per criterion]}``, rows
        holding ``samples`` and, where the model predicts them, ``hamming_loss``, ``accuracy``,
        ``f1``, ``exercise_accuracy``, ``mae``, ``rmse``, ``spearman``, ``relative_l2``.
    """
    report = {"overall": _summary(p, threshold, scale), "per_exercise": {}, "criteria": []}
    for e, name in enumerate(exercises):
        keep = p.exercise == e
        if not keep.any():
            continue
        sub = p.select(keep)
        report["per_exercise"][name] = _summary(sub, threshold, scale)
        if p.criteria_prob is None:
            continue
        for j, crit in enumerate(criteria.get(name, [])):
            counts = binary_counts(sub.criteria_true[:, j], sub.criteria_prob[:, j] >= threshold,
                                   sub.criteria_mask[:, j])
            if counts["n"]:
                report["criteria"].append({"exercise": name, "criterion": crit, **counts})
    return report


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def format_report(report: dict) -> str:
    """The per-exercise table (and the per-criterion one when there are criteria), as text."""
    keys = [k for k in ("samples", "hamming_loss", "accuracy", "f1", "exercise_accuracy", "mae", "rmse",
                        "spearman", "relative_l2") if k in report["overall"]]
    rows = [[name, *(row.get(k) for k in keys)] for name, row in report["per_exercise"].items()]
    rows.append(["all", *(report["overall"].get(k) for k in keys)])
    lines = [_table(["exercise", *keys], rows)]
    if report["criteria"]:
        crit_rows = [[c["exercise"], c["criterion"][:48], c["n"], c["accuracy"], c["f1_met"], c["f1_failed"], c["f1"]]
                     for c in report["criteria"]]
        lines += ["", _table(["exercise", "criterion", "n", "accuracy", "f1_met", "f1_failed", "f1"], crit_rows)]
    return "\n".join(lines)


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [i > 0 and all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) for i in range(len(headers))]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])
