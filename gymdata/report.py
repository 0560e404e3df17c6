"""``gymdata report NAME``: an HTML page with PNG plots of what a dataset holds.

Sections: clips per corpus, exercise, view and split; clips per subject; criteria pass rates and
score distributions; pose quality (share of frames without a detected person, per view and pose
source); repetitions per clip; the leakage report of the default split and of every named split.

Written to ``OUT`` (default ``./<NAME>-report``): ``index.html``, self-contained (the plots are
embedded as base64 PNG), with the same PNGs beside it. The folder is built next to ``OUT`` and
renamed into place, so a failed run leaves the previous report intact.
"""

from __future__ import annotations

import base64
import html
import io
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gymdata import store
from gymdata.labels import current as current_labels
from gymdata.labels import rep_counts
from gymdata.splits import available_splits, default_split, leakage_report, part_order
from gymdata.store import Dataset
from gymdata.strata import ClipLabels, clip_labels

_PART_COLORS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868", "none": "#B0B0B0"}
_OTHER_COLORS = ["#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD", "#C44E52"]


@dataclass
class Section:
    """A heading, its PNG figures (name -> bytes), HTML tables and lines of text."""

    title: str
    figures: dict[str, bytes] = field(default_factory=dict)
    html: list[str] = field(default_factory=list)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _colors(parts: list[str]) -> list[str]:
    others = iter(_OTHER_COLORS * 10)
    return [_PART_COLORS.get(p) or next(others) for p in parts]


def _stacked(ax, table: pd.DataFrame, title: str, horizontal: bool = False) -> None:
    """Bars of ``table`` (rows = categories, columns = parts) stacked by part, with totals."""
    parts = list(table.columns)
    bottom = np.zeros(len(table))
    pos = np.arange(len(table))
    for part, color in zip(parts, _colors(parts)):
        values = table[part].to_numpy(float)
        if horizontal:
            ax.barh(pos, values, left=bottom, color=color, label=str(part))
        else:
            ax.bar(pos, values, bottom=bottom, color=color, label=str(part))
        bottom += values
    labels = [str(i) for i in table.index]
    if horizontal:
        ax.set_yticks(pos, labels, fontsize=8)
        ax.invert_yaxis()
        for p, total in zip(pos, bottom):
            ax.text(total, p, f" {int(total)}", va="center", fontsize=8)
    else:
        ax.set_xticks(pos, labels, rotation=30 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center",
                      fontsize=8)
        for p, total in zip(pos, bottom):
            ax.text(p, total, f"{int(total)}", ha="center", va="bottom", fontsize=8)
    ax.set_title(title, fontsize=10)
    if len(parts) > 1 or parts[0] != "clips":
        ax.legend(fontsize=7, title="split", title_fontsize=7)


def _html_table(df: pd.DataFrame) -> str:
    return df.to_html(classes="t", border=0, float_format=lambda x: f"{x:.3g}", na_rep="-")


def clips_section(videos: pd.DataFrame) -> Section:
    """Clips per corpus, exercise, view and split."""
    import matplotlib.pyplot as plt

    v = videos.assign(split=videos["split"].fillna("none"), view=videos["view"].fillna("unknown"))
    order = part_order(v["split"])
    sec = Section("Clips")
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, column in zip(axes.flat, ("corpus", "exercise", "view")):
        _stacked(ax, pd.crosstab(v[column], v["split"]).reindex(columns=order), f"clips per {column}")
    per_part = v["split"].value_counts().reindex(order)
    axes[1, 1].bar(order, per_part.to_numpy(), color=_colors(order))
    for p, n in zip(order, per_part):
        axes[1, 1].text(p, n, f"{n} ({n / len(v):.0%})", ha="center", va="bottom", fontsize=8)
    axes[1, 1].set_title("clips per split", fontsize=10)
    sec.figures["clips.png"] = _png(fig)
    counts = (v.groupby(["corpus", "exercise", "view", "split"]).size().rename("clips").reset_index()
              .pivot_table(index=["corpus", "exercise", "view"], columns="split", values="clips", fill_value=0)
              .reindex(columns=order))
    sec.html.append(_html_table(counts))
    return sec


def subjects_section(videos: pd.DataFrame) -> Section:
    """Clips per subject, stacked by split (a subject in two colours is a leak)."""
    import matplotlib.pyplot as plt

    sec = Section("Subjects")
    v = videos.dropna(subset=["subject"]).assign(split=lambda d: d["split"].fillna("none"))
    if v.empty:
        sec.html.append("<p>No clip has a subject: splits can only keep recordings apart.</p>")
        return sec
    table = pd.crosstab(v["subject"], v["split"]).reindex(columns=part_order(v["split"]))
    table = table.loc[table.sum(axis=1).sort_values(ascending=False).index]
    shown = table.head(60)
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.22 * len(shown) + 1)))
    _stacked(ax, shown, f"clips per subject ({len(table)} subjects"
             + (", the 60 largest shown)" if len(table) > 60 else ")"), horizontal=True)
    sec.figures["subjects.png"] = _png(fig)
    per = v.groupby("subject").agg(clips=("video_id", "size"), recordings=("recording", "nunique"),
                                   exercises=("exercise", "nunique"))
    sec.html.append(f"<p>{len(per)} subjects; clips per subject: median {per['clips'].median():g}, "
                    f"min {per['clips'].min()}, max {per['clips'].max()}.</p>")
    return sec


def labels_section(ds: Dataset, videos: pd.DataFrame, labels: ClipLabels) -> Section:
    """Criteria pass rates per exercise and score histograms per score name."""
    import matplotlib.pyplot as plt

    sec = Section("Labels")
    if ds.has("criteria"):
        crit = current_labels(ds, "criteria", video_ids=videos["video_id"].tolist())
        crit = crit.merge(videos[["video_id", "exercise"]], on="video_id")
        agg = (crit.assign(passed_=crit["passed"] == True, failed_=crit["passed"] == False,
                           unsure_=crit["passed"].isna())
               .groupby(["exercise", "criterion"], sort=False)[["passed_", "failed_", "unsure_"]].sum())
        exercises = list(dict.fromkeys(agg.index.get_level_values(0)))
        heights = [len(agg.loc[e]) for e in exercises]
        fig, axes = plt.subplots(len(exercises), 1, figsize=(11, 0.32 * sum(heights) + 1.2 * len(exercises)),
                                 squeeze=False, gridspec_kw={"height_ratios": heights})
        for ax, ex in zip(axes[:, 0], exercises):
            t = agg.loc[ex]
            total = t.sum(axis=1).replace(0, 1)
            names = [n if len(n) <= 60 else n[:57] + "..." for n in t.index]
            pos = np.arange(len(t))
            left = np.zeros(len(t))
            for col, color, label in (("passed_", "#55A868", "pass"), ("failed_", "#C44E52", "fail"),
                                      ("unsure_", "#B0B0B0", "unsure")):
                share = t[col].to_numpy(float) / total.to_numpy(float)
                ax.barh(pos, share, left=left, color=color, label=label)
                left += share
            ax.set_yticks(pos, names, fontsize=8)
            ax.invert_yaxis()
            ax.set_xlim(0, 1)
            ax.set_title(f"{ex}: share of verdicts per criterion ({int(t.values.sum())} verdicts)", fontsize=10)
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        sec.figures["criteria.png"] = _png(fig)
    if ds.has("scores"):
        sc = current_labels(ds, "scores", video_ids=videos["video_id"].tolist())
        sc = sc.merge(videos[["video_id", "exercise"]], on="video_id")
        # scales differ between exercises (ALEX-GYM-1's total is out of 6, 2.5 or 3.5): plot % of the scale
        span = (sc["scale_max"] - sc["scale_min"]).where(lambda d: d > 0, 1.0)
        sc["pct"] = (sc["value"] - sc["scale_min"]) / span * 100
        names = sorted(sc["name"].unique())
        fig, axes = plt.subplots(1, len(names), figsize=(min(4.2 * len(names), 14), 3.4), squeeze=False)
        bins = np.linspace(-5, 105, 12)  # 10-point bins centred on 0, 10, ..., 100
        for ax, name in zip(axes[0], names):
            s = sc[sc["name"] == name]
            exercises = sorted(s["exercise"].unique())
            ax.hist([s.loc[s["exercise"] == e, "pct"] for e in exercises], bins=bins, stacked=True, label=exercises,
                    color=(_OTHER_COLORS * 5)[:len(exercises)])
            scales = ", ".join(sorted({f"{a:g}-{b:g}" for a, b in zip(s["scale_min"], s["scale_max"])}))
            ax.set_title(f"score '{name}' (scale {scales}), {len(s)} clips", fontsize=9)
            ax.set_xlabel("% of the scale")
            ax.legend(fontsize=7)
        sec.figures["scores.png"] = _png(fig)
    if not sec.figures:
        sec.html.append("<p>No criteria and no scores.</p>")
    return sec


def poses_section(ds: Dataset, videos: pd.DataFrame) -> Section:
    """Share of frames without a detected person, per view and pose source."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    sec = Section("Pose quality")
    if not ds.has("poses"):
        sec.html.append("<p>No poses yet (extract them with <code>gymdata pose</code>).</p>")
        return sec
    poses = ds.df("poses", columns=["video_id", "detected", "source"])
    poses = poses.merge(videos[["video_id", "view"]], on="video_id", how="left")
    poses["view"] = poses["view"].fillna("unknown")
    agg = (poses.assign(missed=~poses["detected"]).groupby(["source", "view"])
           .agg(frames=("missed", "size"), missed=("missed", "mean"), clips=("video_id", "nunique")))
    table = agg["missed"].unstack("view")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(len(table.columns), 1)
    for k, (view, color) in enumerate(zip(table.columns, _OTHER_COLORS * 5)):
        pos = np.arange(len(table)) + k * width
        ax.bar(pos, table[view].to_numpy(float), width=width, color=color, label=view)
        for p, val in zip(pos, table[view]):
            if pd.notna(val):
                ax.text(p, val, f"{val:.1%}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(table)) + width * (len(table.columns) - 1) / 2, table.index, fontsize=8)
    ax.set_ylabel("frames without a detection")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("pose quality per view and source", fontsize=10)
    ax.legend(fontsize=7, title="view", title_fontsize=7)
    sec.figures["poses.png"] = _png(fig)
    sec.html.append(_html_table(agg.rename(columns={"missed": "share missed"})))
    return sec


def repetitions_section(ds: Dataset, videos: pd.DataFrame) -> Section:
    """Repetitions per clip (repetition segments), or per recording and view for per-repetition clips."""
    import matplotlib.pyplot as plt

    sec = Section("Repetitions")
    counts, what = None, ""
    if ds.has("segments"):
        reps = rep_counts(ds, videos["video_id"].tolist())  # current ground truth, never predictions
        if len(reps):
            counts = reps.reindex(videos["video_id"], fill_value=0)
            counts = pd.DataFrame({"reps": counts.to_numpy(), "exercise": videos["exercise"].to_numpy()})
            what = "repetition segments per clip"
    if counts is None and videos["rep_index"].notna().any():
        per = videos.dropna(subset=["rep_index"]).groupby(["recording", "view"])
        counts = per.agg(reps=("rep_index", "nunique"), exercise=("exercise", "first")).reset_index()
        what = "repetitions (clips) per recording and view"
    if counts is None:
        sec.html.append("<p>No repetition segments and no per-repetition clips.</p>")
        return sec
    fig, ax = plt.subplots(figsize=(8, 3.5))
    top = int(counts["reps"].max())
    bins = np.arange(-0.5, top + 1.5)
    exercises = sorted(counts["exercise"].unique())
    ax.hist([counts.loc[counts["exercise"] == e, "reps"] for e in exercises], bins=bins, stacked=True,
            label=exercises, color=(_OTHER_COLORS * 5)[:len(exercises)])
    ax.set_xticks(range(top + 1))
    ax.set_xlabel(what)
    ax.set_ylabel("count")
    ax.set_title(f"{what}: mean {counts['reps'].mean():.2f}", fontsize=10)
    ax.legend(fontsize=7)
    sec.figures["repetitions.png"] = _png(fig)
    return sec


def leakage_section(ds: Dataset, videos: pd.DataFrame, labels: ClipLabels) -> Section:
    """The leakage report of the default split and the leak lines of every named split."""
    sec = Section("Leakage")
    default = default_split(videos)
    if len(default):
        rep = leakage_report(ds, default, "default (videos.split)", videos, labels)
        sec.html += [_html_table(rep.table), *(_leak_html(line) for line in rep.leak_lines())]
    else:
        sec.html.append("<p>No default split yet: <code>gymdata split NAME</code> makes one.</p>")
    for name, parts in available_splits(ds, videos).items():
        rep = leakage_report(ds, parts, name, videos, labels)
        sizes = ", ".join(f"{p} {n}" for p, n in rep.table["clips"].items())
        sec.html.append(f"<h3>{html.escape(name)}</h3><p>{html.escape(sizes)}</p>")
        sec.html += [_leak_html(line) for line in rep.leak_lines()]
    return sec


def _leak_html(line: str) -> str:
    css = "leak" if line.startswith("LEAK") else "ok"
    return f'<p class="{css}">{html.escape(line)}</p>'


_CSS = """body{font-family:sans-serif;max-width:1150px;margin:2em auto;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}img{max-width:100%}
table.t{border-collapse:collapse;font-size:.85em;margin:.6em 0}table.t td,table.t th{padding:2px 8px;
border-bottom:1px solid #eee;text-align:right}.leak{color:#b00;font-weight:bold}.ok{color:#070}"""


def build_report(ds: Dataset) -> tuple[str, dict[str, bytes]]:
    """The HTML page (plots embedded) and the PNGs by file name."""
    import matplotlib

    matplotlib.use("Agg")
    videos = ds.df("videos", columns=["video_id", "corpus", "exercise", "exercise_raw", "subject", "recording", "view",
                                      "rep_index", "split", "extras"])
    labels = clip_labels(ds, videos)
    sections = [clips_section(videos), subjects_section(videos), labels_section(ds, videos, labels),
                poses_section(ds, videos), repetitions_section(ds, videos), leakage_section(ds, videos, labels)]
    counts = ", ".join(f"{t} {n:,}" for t, n in ds.row_counts().items())
    body = [f"<h1>gymdata report: {html.escape(ds.name)}</h1>",
            f"<p>{html.escape(counts)}; generated {store.now().isoformat(timespec='seconds')}</p>"]
    figures = {}
    for sec in sections:
        body.append(f"<h2>{html.escape(sec.title)}</h2>")
        for name, png in sec.figures.items():
            figures[name] = png
            body.append(f'<img alt="{name}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
        body += sec.html
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(ds.name)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
    return page, figures


def write_report(ds: Dataset, out: str | Path, *, overwrite: bool = True) -> Path:
    """Write ``index.html`` and the PNGs into ``out`` (replaced atomically); returns the page's path.

    Args:
        ds: The dataset.
        out: The report's folder.
        overwrite: Replace an earlier report in ``out`` (never any other folder, the store or a source).

    Raises:
        DatasetExistsError: If ``out`` exists and ``overwrite`` is false.
        InputError: If ``out`` is not a folder, holds something else than a report, or is protected.
    """
    from gymdata.errors import DatasetExistsError, InputError
    from gymdata.guard import guard_output
    from gymdata.safety import clean_leftovers, naming

    out = Path(out).absolute()
    guard_output(out, overwrite=overwrite)  # never the store or a source
    if out.exists() and not out.is_dir():
        raise InputError("output path exists and is not a folder", path=out, hint="choose another --out")
    if out.exists() and not overwrite:
        raise DatasetExistsError("output folder already exists", path=out,
                                 hint="pass --overwrite to replace it, or choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise InputError("output folder exists and is not a gymdata report (no index.html)", path=out,
                         hint="choose another --out; only an earlier report is replaced")
    page, figures = build_report(ds)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out.parent, out.name)  # what a killed run left behind
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        with naming(out, tmp):
            (tmp / "index.html").write_text(page, encoding="utf-8")
            for name, png in figures.items():
                (tmp / name).write_bytes(png)
        store.swap_into_place(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "index.html"
