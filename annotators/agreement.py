"""``gymdata agreement NAME``: how much annotators agree, from the labels pulled into the store.

A *rater* is an annotator of ``origin='human'`` rows (plus, with ``include_imported``, the corpus's
own labels as the rater ``corpus``). Each rater's label of a clip is their latest one: the latest
verdict per criterion, the latest score per name, and their latest snapshot of the repetitions
(:mod:`gymdata.labels` explains snapshots and resolves them). Measures:

* **criteria**: per criterion, Cohen's kappa for every pair of raters (on the clips both judged;
  categories pass / fail / unsure) and Fleiss' kappa across all raters (on the clips all judged);
* **scores**: per score name, ICC(2,1) (two-way random effects, absolute agreement, single rater;
  Shrout & Fleiss 1979) on the clips every rater scored;
* **repetition counts**: ICC(2,1) of the counts and the share of clips where all raters agree exactly;
* **segments**: per pair of raters and clip, repetitions matched one-to-one to maximise temporal IoU
  (Hungarian), the matched IoUs summed and divided by the larger count (an unmatched repetition
  counts 0); averaged over clips.

A kappa is undefined (shown as ``-``) when the raters never vary (chance agreement is 1); an ICC
when the clips do not vary.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from annotators import labels as L
from gymdata import labels, store
from gymdata.errors import InputError

CORPUS_RATER = labels.CORPUS_RATER


# -- measures -------------------------------------------------------------------------------------------


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two raters' categorical labels of the same items (scikit-learn's
    ``cohen_kappa_score``); NaN if undefined (no items, or one category only: chance agreement 1)."""
    from sklearn.metrics import cohen_kappa_score

    if len(a) == 0 or len(a) != len(b):
        return math.nan
    # categories as integer codes (equal values, one code): scikit-learn wants one label type
    codes, cats = pd.factorize(pd.Series(list(a) + list(b), dtype=object))
    if len(cats) < 2:
        return math.nan
    return float(cohen_kappa_score(codes[:len(a)], codes[len(a):]))


def fleiss_kappa(ratings: np.ndarray) -> float:
    """Fleiss' kappa of an (items, raters) array of categories, every item rated by every rater."""
    ratings = np.asarray(ratings, dtype=object)
    if ratings.ndim != 2 or ratings.shape[0] == 0 or ratings.shape[1] < 2:
        return math.nan
    n_items, n_raters = ratings.shape
    cats = sorted(set(ratings.ravel()), key=str)
    counts = np.stack([(ratings == c).sum(axis=1) for c in cats], axis=1).astype(float)
    p_item = ((counts ** 2).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))
    p_cat = counts.sum(axis=0) / (n_items * n_raters)
    pe = float((p_cat ** 2).sum())
    return math.nan if pe >= 1.0 else (float(p_item.mean()) - pe) / (1.0 - pe)


def icc_2_1(x: np.ndarray) -> float:
    """ICC(2,1) of an (items, raters) array of numbers (NaN if undefined)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        return math.nan
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    msr, msc, mse = ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    return math.nan if denom <= 0 else float((msr - mse) / denom)


def temporal_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """IoU of two inclusive frame ranges."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    union = max(a[1], b[1]) - min(a[0], b[0]) + 1
    return max(inter, 0) / union


def segment_iou(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> float:
    """Matched IoU of two segmentations of one clip: optimal one-to-one matching, sum / larger count.

    Two empty segmentations agree fully (1.0).
    """
    from scipy.optimize import linear_sum_assignment

    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    iou = np.array([[temporal_iou(x, y) for y in b] for x in a])
    rows, cols = linear_sum_assignment(-iou)
    return float(iou[rows, cols].sum() / max(len(a), len(b)))


# -- each rater's labels -------------------------------------------------------------------------------


def _rater_rows(ds: store.Dataset, table: str, include_imported: bool) -> pd.DataFrame:
    """Each rater's current rows (:func:`gymdata.labels.current` with ``per_rater``)."""
    origins = ("human", "imported") if include_imported else ("human",)
    return labels.current(ds, table, origins=origins, per_rater=True)


def rater_verdicts(ds: store.Dataset, include_imported: bool = False) -> pd.DataFrame:
    """Latest verdict per (video_id, criterion, rater): columns video_id, criterion, rater, verdict."""
    df = _rater_rows(ds, "criteria", include_imported)
    if df.empty:
        return pd.DataFrame(columns=["video_id", "criterion", "rater", "verdict"])
    df["verdict"] = [L.verdict_of(None if pd.isna(p) else bool(p)) for p in df["passed"]]
    return df[["video_id", "criterion", "rater", "verdict"]].reset_index(drop=True)


def rater_scores(ds: store.Dataset, include_imported: bool = False) -> pd.DataFrame:
    """Latest score per (video_id, name, rater)."""
    df = _rater_rows(ds, "scores", include_imported)
    if df.empty:
        return pd.DataFrame(columns=["video_id", "name", "rater", "value"])
    return df[["video_id", "name", "rater", "value"]].reset_index(drop=True)


def rater_repetitions(ds: store.Dataset, include_imported: bool = False
                      ) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Each rater's repetitions per clip: ``{(video_id, rater): [(start, end), ...]}`` (their latest
    snapshot; ``[]`` where their latest edit deleted every repetition)."""
    df = _rater_rows(ds, "segments", include_imported)
    df = df[df["kind"] == "repetition"]
    out = {(vid, rater): sorted(zip(rows["start_frame"].astype(int), rows["end_frame"].astype(int)))
           for (vid, rater), rows in df.groupby(["video_id", "rater"])}
    # a rater whose latest edit deleted every repetition rated the clip as having none
    gone = labels.deletions(ds, "segments")
    for vid, rater in zip(gone.loc[gone["kind"] == "repetition", "video_id"],
                          gone.loc[gone["kind"] == "repetition", "annotator"]):
        out.setdefault((vid, rater), [])
    return out


# -- the report ----------------------------------------------------------------------------------------


#: Fewer clips than this behind a figure and it is reported as unreliable: kappa and ICC on a
#: handful of items swing from one extreme to the other with a single changed label.
MIN_ITEMS = 5


@dataclass
class AgreementReport:
    """Agreement measures: one row per (measure, item), plus where the figure and JSON went."""

    dataset: str
    raters: list[str]
    rows: list[dict] = field(default_factory=list)
    png: Path | None = None
    json: Path | None = None

    def table(self) -> str:
        from gymdata.cli import format_table

        head = f"agreement in {self.dataset!r} between {len(self.raters)} raters: {', '.join(self.raters)}"
        body = [[r["measure"], r["item"], r["raters"], r["n"], None if r["value"] is None or math.isnan(r["value"])
                 else round(r["value"], 3)] for r in self.rows]
        return "\n".join([head, format_table(["measure", "item", "raters", "clips", "value"], body),
                          *self.warnings()])

    def warnings(self) -> list[str]:
        """One line per figure that rests on fewer than :data:`MIN_ITEMS` clips."""
        few = [r for r in self.rows if r["n"] < MIN_ITEMS]
        if not few:
            return []
        return [f"warning: {len(few)} figure(s) rest on fewer than {MIN_ITEMS} clips and are not reliable: "
                + ", ".join(f"{r['measure']} {r['item']} ({r['n']})" for r in few)]


def _add(report: AgreementReport, measure: str, item: str, raters: Sequence[str], n: int, value: float) -> None:
    report.rows.append({"measure": measure, "item": item, "raters": "+".join(raters), "n": int(n),
                        "value": None if value is None or math.isnan(value) else float(value)})


def agreement(ds: store.Dataset, *, annotators: Sequence[str] | None = None,
              include_imported: bool = False) -> AgreementReport:
    """Compute every measure (see the module docstring).

    Raises:
        InputError: If fewer than two raters labelled the dataset.
    """
    verdicts = rater_verdicts(ds, include_imported)
    scores = rater_scores(ds, include_imported)
    reps = rater_repetitions(ds, include_imported)
    raters = sorted(set(verdicts["rater"]) | set(scores["rater"]) | {r for _, r in reps})
    if annotators:
        raters = [r for r in raters if r in set(annotators) or (include_imported and r == CORPUS_RATER)]
        verdicts = verdicts[verdicts["rater"].isin(raters)]
        scores = scores[scores["rater"].isin(raters)]
        reps = {k: v for k, v in reps.items() if k[1] in raters}
    if len(raters) < 2:
        raise InputError(f"dataset {ds.name!r} has labels from {len(raters)} rater(s): {', '.join(raters) or 'none'}",
                         hint="agreement needs two annotators labelling the same clips (then gymdata fiftyone pull), "
                              "or --include-imported to compare one annotator with the corpus")
    report = AgreementReport(ds.name, raters)
    for crit, rows in verdicts.groupby("criterion"):
        wide = rows.pivot(index="video_id", columns="rater", values="verdict")
        for a, b in itertools.combinations([r for r in raters if r in wide], 2):
            both = wide[[a, b]].dropna()
            if len(both):
                _add(report, "cohen_kappa", crit, (a, b), len(both), cohen_kappa(both[a], both[b]))
        full = wide.dropna()
        if wide.shape[1] > 2 and len(full):
            _add(report, "fleiss_kappa", crit, list(wide.columns), len(full), fleiss_kappa(full.to_numpy()))
    for name, rows in scores.groupby("name"):
        full = rows.pivot(index="video_id", columns="rater", values="value").dropna()
        if full.shape[1] >= 2 and len(full):
            _add(report, "icc_2_1", f"score {name}", list(full.columns), len(full), icc_2_1(full.to_numpy()))
    clips = sorted({v for v, _ in reps})
    counts = pd.DataFrame([{"video_id": v, "rater": r, "count": len(s)} for (v, r), s in reps.items()])
    if not counts.empty:
        full = counts.pivot(index="video_id", columns="rater", values="count").dropna()
        if full.shape[1] >= 2 and len(full):
            _add(report, "icc_2_1", "repetition count", list(full.columns), len(full), icc_2_1(full.to_numpy()))
            same = float((full.nunique(axis=1) == 1).mean())
            _add(report, "exact_agreement", "repetition count", list(full.columns), len(full), same)
    for a, b in itertools.combinations(raters, 2):
        ious = [segment_iou(reps[(v, a)], reps[(v, b)]) for v in clips if (v, a) in reps and (v, b) in reps]
        if ious:
            _add(report, "segment_iou", "repetitions", (a, b), len(ious), float(np.mean(ious)))
    return report


def plot(report: AgreementReport, out: Path) -> Path:
    """One PNG: kappas per criterion, ICCs, and segment IoU per pair of raters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [("Criteria: kappa", [r for r in report.rows if r["measure"].endswith("kappa")]),
              ("Scores and counts: ICC(2,1) / exact", [r for r in report.rows
                                                       if r["measure"] in ("icc_2_1", "exact_agreement")]),
              ("Repetition segments: matched IoU", [r for r in report.rows if r["measure"] == "segment_iou"])]
    fig, axes = plt.subplots(1, 3, figsize=(16, max(3.5, 0.35 * max(len(g) for _, g in groups) + 1.5)))
    for ax, (title, rows) in zip(axes, groups):
        ax.set_title(title, fontsize=10)
        ax.set_xlim(min([-0.2] + [r["value"] for r in rows if r["value"] is not None]), 1.0)
        ax.axvline(0, color="0.6", lw=0.8)
        if not rows:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
            continue
        names = [f"{r['item'][:28]} [{r['measure'].replace('_kappa', '').replace('_agreement', '')}] "
                 f"{r['raters'][:24]} n={r['n']}" for r in rows]
        values = [r["value"] if r["value"] is not None else 0.0 for r in rows]
        colors = ["0.8" if r["value"] is None else "tab:blue" for r in rows]
        ax.barh(range(len(rows)), values, color=colors)
        for i, r in enumerate(rows):
            ax.text(max(values[i], 0) + 0.01, i, "undefined" if r["value"] is None else f"{r['value']:.2f}",
                    va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), names, fontsize=7)
        ax.invert_yaxis()
    fig.suptitle(f"Inter-annotator agreement in {report.dataset} ({', '.join(report.raters)})", fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def run_agreement(name: str, *, out: Path | None = None, annotators: Sequence[str] | None = None,
                  include_imported: bool = False) -> AgreementReport:
    """Compute agreement for a store dataset and write ``agreement.png`` and ``agreement.json`` to ``out``."""
    ds = store.open_dataset(name)
    report = agreement(ds, annotators=annotators, include_imported=include_imported)
    out = Path(out) if out else store.home() / "reports" / name
    report.png = plot(report, out / "agreement.png")
    report.json = out / "agreement.json"
    store.atomic_write_bytes(report.json, json.dumps({"dataset": name, "raters": report.raters, "min_items": MIN_ITEMS,
                                                     "rows": [{**r, "few_items": r["n"] < MIN_ITEMS}
                                                              for r in report.rows]},
                                                     indent=2).encode())
    return report
