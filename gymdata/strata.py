"""What splits balance: each clip's label summary and its strata.

A split is stratified by exercise and, where labels exist, by label balance: each (exercise,
criterion) failure count and a score tercile. :func:`clip_labels` summarises the current
ground-truth labels (:mod:`gymdata.labels`) per clip; :func:`strata_columns` turns them into the
columns :func:`gymdata.splits.assign_groups` balances all at once, :func:`stratum_labels` into one
label per clip for single-label stratification (k-fold, scikit-learn). The leakage report and the
HTML report show the same summaries per part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gymdata import labels
from gymdata.store import Dataset

#: Score used for label balance, first found: the 0-100 quality, ALEX-GYM-1's total, FLEX's score.
SCORE_PREFERENCE = ("quality", "total", "score")


@dataclass
class ClipLabels:
    """Per-clip label summaries (indexed by ``video_id``).

    Attributes:
        failed: (exercise, criterion) -> video_ids that failed it.
        verdicts: Clips' counts of criteria verdicts (pass or fail).
        fails: Clips' counts of failed criteria.
        score: Clips' preferred score on a 0-100 scale (``quality`` first, else the first name).
        score_name: Name of that score, or None.
    """

    failed: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    verdicts: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    fails: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    score: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    score_name: str | None = None


def clip_labels(ds: Dataset, videos: pd.DataFrame) -> ClipLabels:
    """Summarise the current ground-truth criteria and scores of ``videos`` (:mod:`gymdata.labels`)."""
    out = ClipLabels()
    ex = videos.set_index("video_id")["exercise"]
    if ds.has("criteria"):
        crit = labels.current(ds, "criteria", video_ids=ex.index.tolist())
        crit = crit[crit["passed"].notna()]
        failed = crit[crit["passed"] == False]
        for (vid, name) in zip(failed["video_id"], failed["criterion"]):
            out.failed.setdefault((ex[vid], name), set()).add(vid)
        out.verdicts = crit.groupby("video_id").size().astype(float)
        out.fails = failed.groupby("video_id").size().astype(float)
    if ds.has("scores"):
        sc = labels.current(ds, "scores", video_ids=ex.index.tolist())
        if len(sc):
            names = sc["name"].unique().tolist()
            out.score_name = next((n for n in SCORE_PREFERENCE if n in names), min(names))
            sc = sc[sc["name"] == out.score_name]
            span = (sc["scale_max"] - sc["scale_min"]).where(lambda s: s > 0)
            out.score = pd.Series(((sc["value"] - sc["scale_min"]) / span * 100).to_numpy(), index=sc["video_id"])
    return out


def strata_columns(videos: pd.DataFrame, labels: ClipLabels) -> np.ndarray:
    """Columns to balance, one row per clip: exercise one-hot, criterion failures, score tercile."""
    cols = [pd.get_dummies(videos["exercise"]).to_numpy(float)]
    ids = videos["video_id"]
    for key in sorted(labels.failed):
        cols.append(ids.isin(labels.failed[key]).to_numpy(float)[:, None])
    score = ids.map(labels.score)
    if score.notna().sum() >= 3 and score.nunique() >= 3:
        bins = pd.qcut(score, 3, labels=False, duplicates="drop")
        cols.append(pd.get_dummies(bins).to_numpy(float))
    return np.hstack(cols) if cols else np.zeros((len(videos), 0))


def stratum_labels(videos: pd.DataFrame, labels: ClipLabels) -> np.ndarray:
    """One stratum per clip for single-label stratification: exercise, two or more failed
    criteria or not, score tercile (where scores exist)."""
    ids = videos["video_id"]
    failing = ids.map(labels.fails).fillna(0).to_numpy() >= 2
    score = ids.map(labels.score)
    tercile = pd.Series(-1, index=ids.index)
    if score.notna().sum() >= 3 and score.nunique() >= 3:
        tercile = pd.qcut(score, 3, labels=False, duplicates="drop").fillna(-1).astype(int)
    return (videos["exercise"].astype(str) + "|" + pd.Series(failing, index=ids.index).astype(str) + "|"
            + tercile.astype(str)).to_numpy()
