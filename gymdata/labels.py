"""The current label of a clip: the one rule every reader of the label tables goes through.

The label tables (``criteria``, ``scores``, ``segments``, ``penalties``) are append-only history.
Every row records its ``origin``:

* ``imported``: from a corpus (the importer's name in ``annotator``);
* ``human``: a person's decision (their name in ``annotator``, the time of the edit in ``created_at``);
* ``model``: a prediction (the model run id in ``annotator``), e.g. ``gymdata count NAME --write``.

Rows are never edited. Which rows are *current* is derived here, and only here:

1. **A person's decision wins over the corpus, whatever the times.** Per key (``criteria``: clip and
   criterion; ``scores``: clip and name; ``segments``: clip and kind; ``penalties``: clip), the
   latest human decision is the current label; without one, the imported label is.
2. **A model row is a prediction, never ground truth.** The default ``origins`` (imported, human)
   leave model rows out. A person who accepts a prediction makes it a label by writing a human row
   (the FiftyOne App's edits do); ``origins=("model",)`` gives the latest prediction of each key.
3. **Segments and penalties are snapshots.** An edit writes every segment of that kind (every
   penalty) of the clip as it stood after the edit; the rows share ``annotator`` and ``created_at``.
   The latest snapshot is current; imported rows count together (a corpus has one snapshot).
4. **Deletions are rows too.** An edit that leaves a clip with no segments of a kind (no
   penalties) has no table row to write; it is recorded in the dataset's *edit ledger*
   (``attachments/fiftyone_edits.json``, one entry per edit with ``rows: 0``), which this module
   reads: such an entry later than the key's latest human snapshot empties the key.
5. **``as_of``**: rows and ledger entries created after that time are ignored, which gives the labels
   as they stood then (for example when a model was trained).

:func:`current` applies the rule; :func:`predictions` is ``current(origins=("model",))``;
:func:`summary` counts current labels and history for ``gymdata info``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from gymdata.errors import SchemaError
from gymdata.schema import LABEL_TABLES, ORIGINS, TABLES
from gymdata.store import Dataset, atomic_write_bytes

#: Origins that make ground truth (the default of :func:`current`).
GROUND_TRUTH = ("imported", "human")
#: The origin of predictions.
PREDICTION = ("model",)
#: The rater name :func:`current` gives imported rows when ``per_rater`` (they count as one rater).
CORPUS_RATER = "corpus"

LEDGER = "fiftyone_edits.json"
LEDGER_FORMAT = "gymdata.fiftyone-edits"
LEDGER_VERSION = 1

#: The columns that identify one label (one decision) per table.
KEYS = {"criteria": ["video_id", "criterion"], "scores": ["video_id", "name"],
        "segments": ["video_id", "kind"], "penalties": ["video_id"]}
_PRIORITY = {"model": 0, "imported": 1, "human": 2}
_SNAPSHOT_TABLES = ("segments", "penalties")


# -- the edit ledger --------------------------------------------------------------------------------


def read_ledger(ds: Dataset) -> list[dict[str, Any]]:
    """The edits recorded in ``ds`` so far (pulled from FiftyOne), in order (empty if none)."""
    path = ds.attachment(LEDGER)
    if not path.is_file():
        return []
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format") != LEDGER_FORMAT:
        raise SchemaError(f"{LEDGER} is not a {LEDGER_FORMAT} document", path=path)
    return doc["edits"]


def append_ledger(ds: Dataset, entries: Sequence[Mapping[str, Any]]) -> None:
    """Add entries to the ledger (rewritten atomically)."""
    if not entries:
        return
    edits = read_ledger(ds) + [dict(e) for e in entries]
    doc = {"format": LEDGER_FORMAT, "version": LEDGER_VERSION, "edits": edits}
    atomic_write_bytes(ds.attachment(LEDGER), json.dumps(doc, indent=1, ensure_ascii=False, default=str).encode())


def deletions(ds: Dataset, table: str, ledger: Iterable[Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """The recorded edits that left a key empty: columns video_id, (kind,) annotator, origin, created_at."""
    ledger = read_ledger(ds) if ledger is None else ledger
    rows = [{"video_id": e["video_id"], "kind": e.get("key"), "annotator": e.get("annotator"),
             "origin": e.get("origin", "human"), "created_at": pd.Timestamp(e["at"])}
            for e in ledger if e.get("table") == table and e.get("rows") == 0]
    df = pd.DataFrame(rows, columns=["video_id", "kind", "annotator", "origin", "created_at"])
    return df.drop(columns="kind") if table == "penalties" else df


# -- the rule ---------------------------------------------------------------------------------------


def _check(table: str, origins: Sequence[str]) -> tuple[str, ...]:
    if table not in LABEL_TABLES:
        raise SchemaError(f"{table!r} is not a label table", hint=f"label tables: {', '.join(LABEL_TABLES)}")
    origins = (origins,) if isinstance(origins, str) else tuple(origins)
    bad = [o for o in origins if o not in ORIGINS]
    if bad or not origins:
        raise SchemaError(f"invalid label origin(s) {bad or origins!r}", hint=f"origins: {', '.join(ORIGINS)}")
    return origins


def _rater(df: pd.DataFrame) -> pd.Series:
    return pd.Series(df["annotator"].astype(object).where(df["origin"] != "imported", CORPUS_RATER),
                     index=df.index).fillna("")


def current(ds: Dataset, table: str, *, video_ids: Sequence[str] | None = None, as_of: dt.datetime | None = None,
            origins: Sequence[str] = GROUND_TRUTH, per_rater: bool = False) -> pd.DataFrame:
    """The current rows of a label table (the rule is in the module docstring).

    Args:
        ds: The store dataset.
        table: One of criteria, scores, segments, penalties.
        video_ids: Only these clips (default all).
        as_of: Ignore rows and ledger entries created after this time.
        origins: Which rows may count: ground truth by default; ``("model",)`` for predictions.
            When several are given, human beats imported beats model per key.
        per_rater: Resolve each rater separately (a ``rater`` column is added: the annotator of
            human and model rows, ``"corpus"`` for every imported row): each rater's own current
            labels, for agreement between annotators.

    Returns:
        A DataFrame with the table's columns (plus ``rater``), one row per current label, sorted by
        key (and start frame).

    Raises:
        SchemaError: On a table that is not a label table or an unknown origin.
    """
    origins = _check(table, origins)
    columns = TABLES[table].schema.names + (["rater"] if per_rater else [])
    if not ds.has(table):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    filt: dict[str, Any] = {"origin": list(origins)}
    if video_ids is not None:
        filt["video_id"] = list(video_ids)
    df = ds.df(table, filter=filt)
    ledger = read_ledger(ds) if "human" in origins and table in _SNAPSHOT_TABLES else []
    if video_ids is not None and ledger:
        wanted = set(video_ids)
        ledger = [e for e in ledger if e.get("video_id") in wanted]
    if as_of is not None:
        cut = pd.Timestamp(as_of)
        cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut
        df = df[df["created_at"].isna() | (df["created_at"] <= cut)]
        ledger = [e for e in ledger if pd.Timestamp(e["at"]) <= cut]
    # the same row twice (an import and a re-import of one file) is one label
    df = df.drop_duplicates().reset_index(drop=True)
    df["rater"] = _rater(df)
    keys = KEYS[table] + (["rater"] if per_rater else [])
    df["_p"] = df["origin"].map(_PRIORITY)
    df["_n"] = range(len(df))
    if table not in _SNAPSHOT_TABLES:
        out = (df.sort_values(["_p", "created_at", "_n"], na_position="first")
               .groupby(keys, sort=False, dropna=False).tail(1))
    else:
        out = df[df["_p"] == df.groupby(keys, dropna=False)["_p"].transform("max")]
        snap = out["origin"] != "imported"  # a corpus's rows count together; others by snapshot
        latest = out[snap].groupby(keys, dropna=False)["created_at"].transform("max")
        out = out[~snap | (out["created_at"] == latest.reindex(out.index))]
        out = _apply_deletions(out, deletions(ds, table, ledger), keys, per_rater)
    # segments in time order; penalties (often without frames) in the order they were written
    sort = keys + (["start_frame"] if table == "segments" else []) + ["_n"]
    out = out.sort_values(sort, na_position="first", kind="stable").reset_index(drop=True)
    return out[columns]


def _apply_deletions(out: pd.DataFrame, gone: pd.DataFrame, keys: list[str], per_rater: bool) -> pd.DataFrame:
    """Drop the keys whose latest human decision is an empty snapshot (see the module docstring)."""
    if gone.empty:
        return out
    gone = gone.assign(rater=gone["annotator"].astype(object).fillna(""))
    last_empty = gone.groupby(keys)["created_at"].max().rename("_emptied").reset_index()
    human = out[out["origin"] == "human"]
    last_rows = human.groupby(keys)["created_at"].max().rename("_rows").reset_index()
    stamp = last_empty.merge(last_rows, on=keys, how="left")
    dead = stamp[stamp["_rows"].isna() | (stamp["_emptied"] > stamp["_rows"])][keys]
    out = out.merge(dead.assign(_gone=True), on=keys, how="left")
    return out[out["_gone"].isna()].drop(columns="_gone")


def predictions(ds: Dataset, table: str, *, video_ids: Sequence[str] | None = None,
                as_of: dt.datetime | None = None) -> pd.DataFrame:
    """The latest model prediction per key (never ground truth); ``annotator`` is the run id."""
    return current(ds, table, video_ids=video_ids, as_of=as_of, origins=PREDICTION)


def blind(ds: Dataset, table: str, annotator: str, *, video_ids: Sequence[str] | None = None,
          as_of: dt.datetime | None = None) -> pd.DataFrame:
    """What ``annotator`` may see in blind double labelling: their own current labels, else the corpus's.

    Per key, the annotator's own current label (their latest snapshot for segments and penalties)
    when they have one, otherwise the imported one; other annotators' labels are never included.

    Returns:
        The table's columns, one row per label, like :func:`current`.
    """
    df = current(ds, table, video_ids=video_ids, as_of=as_of, per_rater=True)
    df = df[df["rater"].isin([annotator, CORPUS_RATER])].copy()
    own = df["rater"] == annotator
    has_own = own.groupby([df[k].astype(object).fillna("") for k in KEYS[table]]).transform("any") if len(df) else own
    return df[own | ~has_own].drop(columns=["rater"]).reset_index(drop=True)


def current_by_clip(ds: Dataset, video_ids: Sequence[str] | None = None, *, as_of: dt.datetime | None = None,
                    blind_for: str | None = None) -> dict[str, dict[str, list[dict]]]:
    """The current ground-truth rows of every label table, grouped by clip: ``{video_id: {table: [row]}}``.

    With ``blind_for``, only that annotator's labels on top of the imported ones (:func:`blind`).
    """
    out: dict[str, dict[str, list[dict]]] = {}
    for table in LABEL_TABLES:
        rows = (current(ds, table, video_ids=video_ids, as_of=as_of) if blind_for is None
                else blind(ds, table, blind_for, video_ids=video_ids, as_of=as_of))
        for row in rows.to_dict("records"):
            out.setdefault(row["video_id"], {t: [] for t in LABEL_TABLES})[table].append(row)
    return out


def rep_counts(ds: Dataset, video_ids: Sequence[str] | None = None, *, origins: Sequence[str] = GROUND_TRUTH
               ) -> pd.Series:
    """Current number of repetition segments per clip (clips without any are left out)."""
    segs = current(ds, "segments", video_ids=video_ids, origins=origins)
    segs = segs[segs["kind"] == "repetition"]
    return segs.groupby("video_id").size().rename("repetitions")


# -- what gymdata info shows ------------------------------------------------------------------------


def summary(ds: Dataset) -> dict[str, Any]:
    """Current labels per table and kind, who made them, and the size of the history.

    Returns:
        ``{"labels": [{"table", "kind", "labels", "clips", "imported", "human", "annotators"}],
        "predictions": [{"table", "kind", "labels", "clips", "models"}],
        "history": {table: {origin: rows}}, "deletions": n}``. ``kind`` is the segment kind, the
        criterion or score name, or ``"-"`` for penalties; ``labels`` counts current rows.
    """
    out: dict[str, Any] = {"labels": [], "predictions": [], "history": {}, "deletions": 0}
    ledger = read_ledger(ds)
    for table in LABEL_TABLES:
        if not ds.has(table):
            continue
        hist = ds.df(table, columns=["origin"])
        out["history"][table] = {o: int(n) for o, n in hist["origin"].value_counts().sort_index().items()}
        out["deletions"] += len(deletions(ds, table, ledger))
        kind = {"criteria": "criterion", "scores": "name", "segments": "kind"}.get(table)
        for section, origins in (("labels", GROUND_TRUTH), ("predictions", PREDICTION)):
            df = current(ds, table, origins=origins)
            if df.empty:
                continue
            df = df.assign(_kind=df[kind] if kind else "-")
            for name, group in df.groupby("_kind", sort=True):
                row = {"table": table, "kind": name, "labels": len(group), "clips": int(group["video_id"].nunique())}
                if section == "labels":
                    row["imported"] = int((group["origin"] == "imported").sum())
                    row["human"] = int((group["origin"] == "human").sum())
                    row["annotators"] = sorted(group.loc[group["origin"] == "human", "annotator"].dropna().unique())
                else:
                    row["models"] = sorted(group["annotator"].dropna().unique())
                out[section].append(row)
    return out
