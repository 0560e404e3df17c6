"""Splits: leakage-free train/val/test parts, named splits, and the leakage report.

A split assigns clips to parts (``train``, ``val``, ``test``, or ``fold1..k``). Clips of one
person, or of one take (its views and its repetitions), look alike far more than clips of two
people do, so a model evaluated on a take it has seen from another view scores better than it
will on new people. Every split made here is therefore **group-disjoint**: clips connected by a
shared ``subject`` or a shared ``recording`` form one group (connected components, so a subject
that shares a recording with another subject joins the same group), and a group never straddles
two parts. Within that constraint, parts are **stratified** by exercise and, where labels exist,
by label balance: each (exercise, criterion) failure count and a score tercile are balanced too,
by a greedy multi-label assignment of whole groups (largest deficit first; see :func:`assign_groups`);
k folds are made by scikit-learn's ``StratifiedGroupKFold`` on the same groups, with one stratum
label per clip (:mod:`gymdata.strata`). Same data, ratios and seed give the same split.

Kinds of named splits (``gymdata split NAME --list`` shows what a dataset has):

* ``seed<S>`` (and ``seed<S>-<train>-<val>-<test>`` for other ratios): a group split;
* ``kfold<K>-seed<S>-<i>``: fold ``i`` of a group k-fold (``train``/``test``);
* ``imported``: the ``split`` column as the importer filled it, kept before it is first replaced;
* **official** splits, declared by the importer of each corpus
  (:attr:`gymdata.importer.Importer.official_splits`): UCF-101's ``ucf-fold1..3``, FLEX's
  ``flex-split4``, the ALEX-GYM-1 authors' row split ``alex-authors`` (which leaks: rows are
  repetitions, so one recording lands in several parts); for a corpus whose importer declares
  none, the splits it stored in ``videos.extras["splits"]``, named ``<corpus>-<key>``.

Where splits are stored, and why:

* the **default** split is the ``videos.split`` column: what ``gymdata info``, the exporters and
  the trainers read when no split is named;
* **computed** named splits (seeds, k-folds, ``imported``) live in one attachment,
  ``attachments/splits.parquet``, a long table ``(split, video_id, part)`` whose Parquet metadata
  holds each split's parameters. A table in the schema would be a core change every corpus
  carries, and ``videos.extras`` would mean rewriting every clip row (and every importer's extras)
  to add a fold; the attachment is typed, read in one call, replaced atomically, and leaves the
  clip table alone;
* **derived** splits (the official ones) are functions of the imported data:
  computed on request, never stored, so they cannot go stale.

A split is selected by a string (``gymdata export --split S``, :func:`select_videos`): a part of
the default split (``test``), a part of a named split (``ucf-fold2:test``), or a whole named split
(``alex-authors``), whose parts then fill the ``split`` column of the selected clips.
"""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gymdata import registry, store
from gymdata.errors import InputError, PluginError
from gymdata.importer import Importer
from gymdata.output import format_table
from gymdata.store import Dataset
from gymdata.strata import ClipLabels, clip_labels, strata_columns, stratum_labels

log = logging.getLogger("gymdata")

PARTS = ("train", "val", "test")
DEFAULT_RATIOS = (0.7, 0.15, 0.15)
ATTACHMENT = "splits.parquet"
_VIDEO_COLUMNS = ["video_id", "corpus", "exercise", "subject", "recording", "view", "rep_index", "split", "extras"]
_SPLIT_SCHEMA = pa.schema([("split", pa.string()), ("video_id", pa.string()), ("part", pa.string())])
_META_KEY = b"gymdata.splits"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --------------------------------------------------------------------------------------------
# Ratios and groups
# --------------------------------------------------------------------------------------------

def parse_ratios(text: str | Sequence[float]) -> tuple[float, float, float]:
    """Train/val/test ratios from ``"0.7,0.15,0.15"`` (or ``"0.8,0.2"`` = train/test, no val).

    Raises:
        InputError: If a ratio is not a number, is negative, train is zero, or they do not sum to 1.
    """
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        values = [float(v) for v in parts]
    except (TypeError, ValueError):
        raise InputError(f"ratios {text!r} are not numbers", hint="write them like 0.7,0.15,0.15") from None
    if len(values) == 2:
        values = [values[0], 0.0, values[1]]
    if len(values) != 3 or any(v < 0 for v in values) or values[0] <= 0:
        raise InputError(f"ratios {text!r}: expected train,val,test (or train,test) with train > 0 and none < 0",
                         hint="e.g. 0.7,0.15,0.15")
    if abs(sum(values) - 1.0) > 1e-6:
        raise InputError(f"ratios {text!r} sum to {sum(values):g}, not 1", hint="e.g. 0.7,0.15,0.15")
    return tuple(values)  # type: ignore[return-value]


def group_ids(videos: pd.DataFrame) -> np.ndarray:
    """Group index per clip: clips sharing a subject or a recording, transitively, share a group.

    Args:
        videos: Clips with ``subject`` and ``recording`` (nulls link nothing).

    Returns:
        An int array aligned with ``videos``, groups numbered 0..G-1.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(videos)
    rows, cols, offset = [], [], n
    for column in ("subject", "recording"):
        codes, uniques = pd.factorize(videos[column].astype("string"), use_na_sentinel=True)
        linked = codes >= 0
        rows.append(np.flatnonzero(linked))
        cols.append(codes[linked] + offset)
        offset += len(uniques)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(offset, offset))
    _, labels = connected_components(graph, directed=False)
    _, dense = np.unique(labels[:n], return_inverse=True)
    return dense


# --------------------------------------------------------------------------------------------
# Assignment
# --------------------------------------------------------------------------------------------

def assign_groups(groups: np.ndarray, strata: np.ndarray, ratios: Sequence[float], seed: int) -> np.ndarray:
    """Assign whole groups to parts so that every stratum column follows ``ratios``.

    Groups are taken in a seeded random order, larger groups first within a size tier (a group
    of more than twice the median size is placed before smaller ones, since late big groups
    cannot be balanced any more). Each goes to the part whose squared relative deviation from
    its targets, summed over the clip count and every stratum column, drops most. A part with a
    positive ratio left empty while another holds two or more groups then takes that part's
    smallest group.

    Args:
        groups: Group index per clip (0..G-1).
        strata: Clips x columns of non-negative counts to balance.
        ratios: Target share per part (parts with ratio 0 get nothing).
        seed: Seed of the group order.

    Returns:
        The part index per clip.
    """
    ratios = np.asarray(ratios, float)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    feats = np.hstack([np.ones((len(groups), 1)), strata])
    gf = np.zeros((n_groups, feats.shape[1]))
    np.add.at(gf, groups, feats)
    totals = np.maximum(gf.sum(0), 1e-9)
    # the clip count weighs as much as all strata together: the part sizes matter most
    weights = np.concatenate([[max(strata.shape[1], 1)], np.ones(strata.shape[1])]) / totals ** 2
    target = ratios[:, None] * totals[None, :]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_groups)
    size = gf[:, 0]
    tier = (size[order] > 2 * np.median(size)).astype(int) if n_groups else np.zeros(0, int)
    order = order[np.argsort(-tier, kind="stable")]
    counts = np.zeros_like(target)
    part_of = np.full(n_groups, -1)
    for g in order:
        delta = (((counts + gf[g] - target) ** 2 - (counts - target) ** 2) * weights).sum(1)
        delta[ratios <= 0] = np.inf
        p = int(np.argmin(delta))
        part_of[g] = p
        counts[p] += gf[g]
    for p in np.flatnonzero(ratios > 0):
        if not (part_of == p).any():
            members = np.bincount(part_of, minlength=len(ratios))
            donor = int(np.argmax(members))
            if members[donor] >= 2:
                candidates = np.flatnonzero(part_of == donor)
                part_of[candidates[np.argmin(size[candidates])]] = p
    return part_of[groups]


def _parts_series(videos: pd.DataFrame, index: np.ndarray, names: Sequence[str]) -> pd.Series:
    return pd.Series(np.asarray(names, dtype=object)[index], index=videos["video_id"].to_numpy(), name="part")


def group_split(ds: Dataset, ratios: Sequence[float] = DEFAULT_RATIOS, seed: int = 0, *,
                stratify: bool = True, videos: pd.DataFrame | None = None) -> pd.Series:
    """A seeded, group-disjoint, stratified train/val/test split.

    Args:
        ds: The dataset (labels are read from it for stratification).
        ratios: Train, val and test shares (a zero share makes no part).
        seed: Seed; the same data, ratios and seed give the same split.
        stratify: Balance exercises and labels as well as sizes.
        videos: The clips to split (default: all of ``ds``).

    Returns:
        The part of each clip, indexed by ``video_id``.

    Raises:
        InputError: If a part with a positive share would be empty (too few groups).
    """
    videos = split_clips(ds) if videos is None else videos
    ratios = parse_ratios(ratios)
    groups = group_ids(videos)
    strata = strata_columns(videos, clip_labels(ds, videos)) if stratify else np.zeros((len(videos), 0))
    index = assign_groups(groups, strata, ratios, seed)
    parts = _parts_series(videos, index, PARTS)
    _check_parts_filled(parts, [p for p, r in zip(PARTS, ratios) if r > 0], int(groups.max()) + 1)
    return parts


def kfold_split(ds: Dataset, k: int, seed: int = 0, *, stratify: bool = True,
                videos: pd.DataFrame | None = None) -> pd.Series:
    """Group-disjoint, stratified assignment of clips to folds ``fold1``..``fold<k>``.

    scikit-learn's :class:`~sklearn.model_selection.StratifiedGroupKFold` assigns the
    subject/recording groups (:func:`group_ids`) to equal folds, balancing one label per clip: its
    exercise, whether it failed two or more criteria, and its score tercile (:func:`gymdata.strata.stratum_labels`).
    (Splits with other ratios use :func:`assign_groups`: scikit-learn has no stratified group
    split with unequal parts.)

    Raises:
        InputError: If ``k`` < 2 or there are fewer groups than folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if k < 2:
        raise InputError(f"k-fold needs k >= 2, got {k}")
    videos = split_clips(ds) if videos is None else videos
    groups = group_ids(videos)
    names = [f"fold{i + 1}" for i in range(k)]
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups < k:
        _check_parts_filled(pd.Series([], dtype=object), names, n_groups)
    strata = stratum_labels(videos, clip_labels(ds, videos)) if stratify else np.zeros(len(videos), int)
    index = np.empty(len(videos), int)
    with warnings.catch_warnings():  # small strata with fewer clips than folds are expected, and fine
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        for i, (_, test) in enumerate(folds.split(np.zeros(len(videos)), strata, groups)):
            index[test] = i
    return _parts_series(videos, index, names)


def fold_parts(folds: pd.Series, i: int) -> pd.Series:
    """Fold ``i`` (1-based) as a train/test split: the fold is the test part."""
    return folds.map(lambda f: "test" if f == f"fold{i}" else "train")


def _check_parts_filled(parts: pd.Series, wanted: list[str], n_groups: int) -> None:
    empty = [p for p in wanted if not (parts == p).any()]
    if empty:
        raise InputError(
            f"cannot make a non-empty {', '.join(empty)} part: the clips form only {n_groups} "
            "subject/recording group(s)",
            hint="use fewer parts (e.g. --ratios 0.8,0.2), fewer folds, or add subjects")


# --------------------------------------------------------------------------------------------
# Official splits: declared by the importers that know their corpus
# --------------------------------------------------------------------------------------------

def _extras(videos: pd.DataFrame) -> list[dict]:
    return [json.loads(e) if isinstance(e, str) and e else {} for e in videos["extras"]]


def extras_splits(videos: pd.DataFrame, name: Callable[[str], str]) -> dict[str, pd.Series]:
    """Splits an importer stored in ``videos.extras["splits"]`` (``{key: part}``), by ``name(key)``.

    Clips without an entry for a split are not in it; ``valid``/``validation`` parts read as ``val``.
    """
    found: dict[str, dict[str, str]] = {}
    for vid, extras in zip(videos["video_id"], _extras(videos)):
        splits = extras.get("splits")
        if not isinstance(splits, dict):
            continue
        for key, part in splits.items():
            if part is not None:
                found.setdefault(name(str(key)), {})[vid] = {"valid": "val", "validation": "val"}.get(str(part),
                                                                                                     str(part))
    return {split: pd.Series(m, name="part") for split, m in sorted(found.items())}


def _corpus_importer(corpus: str) -> Importer | None:
    """The importer spec registered under the corpus's name, if one is installed and loads."""
    if corpus not in registry.available("gymdata.importers"):
        return None
    try:
        spec = registry.load("gymdata.importers", corpus)
    except PluginError as exc:  # a broken plugin must not stop splitting: its extras still count
        log.warning("%s; reading its official splits from extras only", exc)
        return None
    return spec if isinstance(spec, Importer) else None


def official_splits(ds: Dataset | None, videos: pd.DataFrame) -> dict[str, pd.Series]:
    """Every corpus's official splits, by name.

    Each corpus's importer declares its own (:attr:`gymdata.importer.Importer.official_splits`,
    e.g. ``ucf-fold1..3``, ``flex-split4``, ``alex-authors``); a corpus whose importer declares
    none has the splits its importer stored in ``extras["splits"]``, named ``<corpus>-<key>``.

    Args:
        ds: The dataset (an importer may read its labels); None: only ``videos`` is read.
        videos: The clips (``video_id``, ``corpus``, ``extras``, ...).
    """
    found: dict[str, pd.Series] = {}
    for corpus, clips in videos.groupby("corpus", sort=True):
        spec = _corpus_importer(str(corpus))
        if spec is not None and spec.official_splits is not None:
            found.update(spec.official_splits(ds, clips))
        else:
            found.update(extras_splits(clips, lambda key, corpus=corpus: f"{corpus}-{key}"))
    return dict(sorted(found.items()))


# --------------------------------------------------------------------------------------------
# Storage and lookup
# --------------------------------------------------------------------------------------------

def split_clips(ds: Dataset) -> pd.DataFrame:
    """The clips splits are made of: the ``videos`` columns they need, in ``video_id`` order.

    Raises:
        InputError: If the dataset has no clips.
    """
    if not ds.has("videos"):
        raise InputError(f"dataset {ds.name!r} has no clips", hint="import a corpus into it first")
    columns = _VIDEO_COLUMNS + ["exercise_raw"]
    return ds.df("videos", columns=columns).sort_values("video_id", kind="stable").reset_index(drop=True)


def _read_stored(ds: Dataset) -> tuple[pd.DataFrame, dict]:
    path = ds.attachment(ATTACHMENT)
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _SPLIT_SCHEMA.names}), {}
    tbl = pq.read_table(path)
    meta = json.loads((tbl.schema.metadata or {}).get(_META_KEY, b"{}"))
    return tbl.to_pandas(), meta


def stored_splits(ds: Dataset) -> dict[str, dict]:
    """Parameters of the named splits stored in the dataset, by name."""
    return _read_stored(ds)[1]


def save_split(ds: Dataset, name: str, parts: pd.Series, params: dict, *, default: bool = False) -> None:
    """Store a named split (replacing one of the same name); optionally make it the default.

    Making a split the default writes its parts into ``videos.split`` (clips it does not cover get
    null). The first time the default is replaced, the importer's ``split`` column is kept as the
    named split ``imported``.

    Raises:
        InputError: If ``name`` is not a valid split name.
    """
    if not _NAME.match(name) or name in PARTS or ":" in name:
        raise InputError(f"invalid split name {name!r}",
                         hint="use letters, digits, '-', '_', '.', and not train/val/test")
    stamp = store.now().isoformat(timespec="seconds")
    # read-modify-write under the dataset's lock: two splits saved at once both survive
    with ds.transaction() as txn:
        table, meta = _read_stored(ds)
        videos = ds.read("videos")
        if default and "imported" not in meta:
            current = pd.Series(videos.column("split").to_pylist(), index=videos.column("video_id").to_pylist())
            kept = current.dropna()
            if len(kept):
                table = pd.concat([table, pd.DataFrame({"split": "imported", "video_id": kept.index,
                                                        "part": kept.to_numpy()})])
                meta["imported"] = {"method": "imported", "created_at": stamp}
        table = table[table["split"] != name]
        table = pd.concat([table, pd.DataFrame({"split": name, "video_id": parts.index, "part": parts.to_numpy()})])
        if default:
            for other in meta.values():
                other["default"] = False
        meta[name] = {**params, "created_at": stamp, "default": default}
        tbl = pa.Table.from_pandas(table.reset_index(drop=True), schema=_SPLIT_SCHEMA, preserve_index=False)
        tbl = tbl.replace_schema_metadata({_META_KEY: json.dumps(meta, sort_keys=True).encode()})
        buf = io.BytesIO()
        pq.write_table(tbl, buf, compression="zstd")
        if default:
            column = pa.array(pd.Series(videos.column("video_id").to_pylist()).map(parts).tolist(), pa.string())
            txn.write("videos", videos.set_column(videos.schema.get_field_index("split"), "split", column))
        txn.put_attachment(ATTACHMENT, buf.getvalue())


def available_splits(ds: Dataset, videos: pd.DataFrame | None = None) -> dict[str, pd.Series]:
    """Every named split of ``ds``: official (derived from the imported data) and stored, by name."""
    videos = split_clips(ds) if videos is None else videos
    found = official_splits(ds, videos)
    table, _ = _read_stored(ds)
    for name, rows in table.groupby("split", sort=True):
        found[name] = pd.Series(rows["part"].to_numpy(), index=rows["video_id"].to_numpy(), name="part")
    return found


def default_split(videos: pd.DataFrame) -> pd.Series:
    """The ``videos.split`` column as a split (clips with a null split are left out)."""
    col = videos.set_index("video_id")["split"]
    return col[col.notna()].rename("part")


def load_split(ds: Dataset, name: str | None, videos: pd.DataFrame | None = None) -> pd.Series:
    """A split by name (``None`` or ``"default"``: the ``videos.split`` column).

    Raises:
        InputError: If there is no split of that name.
    """
    videos = split_clips(ds) if videos is None else videos
    if name in (None, "default"):
        return default_split(videos)
    splits = available_splits(ds, videos)
    if name not in splits:
        raise InputError(f"unknown split {name!r} in dataset {ds.name!r}",
                         hint=f"named splits: {', '.join(splits) or 'none'}; make one with: gymdata split {ds.name}")
    return splits[name]


def select_videos(ds: Dataset, selection: str | None) -> pd.DataFrame:
    """The clips a split selection names, with ``split`` set to their part.

    Args:
        ds: The dataset.
        selection: None (every clip, default split), ``PART`` (a part of the default split),
            ``NAME:PART`` (a part of a named split) or ``NAME`` (every clip of a named split).

    Returns:
        The selected rows of the ``videos`` table (all columns), sorted by ``video_id``.

    Raises:
        InputError: On an unknown split or part, or an empty selection.
    """
    full = ds.df("videos").sort_values("video_id", kind="stable").reset_index(drop=True)
    if full.empty:
        raise InputError(f"dataset {ds.name!r} has no clips", hint="import a corpus into it first")
    if selection is None:
        return full
    videos = full[_VIDEO_COLUMNS + ["exercise_raw"]]
    name, _, part = selection.rpartition(":") if ":" in selection else (None, "", selection)
    default = default_split(videos)
    if name is None and part not in set(default) and part not in PARTS:
        parts = load_split(ds, part, videos)  # a whole named split
        name, part = part, None
    else:
        parts = load_split(ds, name, videos)
    if part is not None:
        known = part_order(parts)
        if part not in known:
            where = f"split {name!r}" if name else "the default split"
            if not known:
                raise InputError(f"{where} of dataset {ds.name!r} is empty: no clip has a split",
                                 hint=f"make one with: gymdata split {ds.name}")
            raise InputError(f"{where} has no part {part!r}", hint=f"parts: {', '.join(known)}")
        parts = parts[parts == part]
    out = full[full["video_id"].isin(parts.index)].copy()
    if out.empty:
        raise InputError(f"split selection {selection!r} is empty in dataset {ds.name!r}")
    out["split"] = out["video_id"].map(parts)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The leakage report
# --------------------------------------------------------------------------------------------

def part_order(parts: Sequence[str]) -> list[str]:
    """Parts in the order train, val, test, then the others sorted."""
    return sorted(set(parts), key=lambda p: (PARTS.index(p) if p in PARTS else len(PARTS), p))


@dataclass
class LeakageReport:
    """Who is on which side of a split, and how labels are balanced across its parts.

    Attributes:
        name: Split name.
        table: One row per part: clips, recordings, subjects, clips per exercise, share of clips
            with a failed criterion, share of failed verdicts, mean score (0-100).
        leaked_subjects: Subject -> the parts it appears in, for subjects in two or more parts.
        leaked_recordings: Recording -> parts, for recordings in two or more parts.
        subjects: Distinct subjects of the assigned clips.
        recordings: Distinct recordings of the assigned clips.
        unassigned: Clips of the dataset the split does not cover.
        score_name: The score averaged in the table, if any.
    """

    name: str
    table: pd.DataFrame
    leaked_subjects: dict[str, list[str]]
    leaked_recordings: dict[str, list[str]]
    subjects: int
    recordings: int
    unassigned: int
    score_name: str | None = None

    @property
    def leaks(self) -> bool:
        return bool(self.leaked_subjects or self.leaked_recordings)

    def leak_lines(self) -> list[str]:
        """One line per kind of leak (or one line saying there is none)."""
        out = []
        for what, leaked, total in (("subject", self.leaked_subjects, self.subjects),
                                    ("recording", self.leaked_recordings, self.recordings)):
            if leaked:
                examples = "; ".join(f"{k} in {'+'.join(v)}" for k, v in list(leaked.items())[:3])
                out.append(f"LEAK: {len(leaked)} of {total} {what}s appear in more than one part (e.g. {examples})")
        return out or [(f"no leakage: none of {self.subjects} subjects and {self.recordings} recordings "
                        "is in more than one part")]

    def lines(self) -> list[str]:
        """The report as text lines."""
        head = f"leakage report for split {self.name!r}"
        if self.unassigned:
            head += f" ({self.unassigned} clips not in this split)"
        rows = [[None if isinstance(v, float) and np.isnan(v) else v for v in row]
                for row in self.table.reset_index().itertuples(index=False)]
        rows = [[int(v) if isinstance(v, (np.integer,)) else float(v) if isinstance(v, np.floating) else v
                 for v in row] for row in rows]
        return [head, format_table(["part", *self.table.columns], rows), *self.leak_lines()]

    def to_dict(self) -> dict:
        return {"split": self.name, "parts": json.loads(self.table.to_json(orient="index")),
                "leaked_subjects": self.leaked_subjects, "leaked_recordings": self.leaked_recordings,
                "subjects": self.subjects, "recordings": self.recordings, "unassigned": self.unassigned,
                "score_name": self.score_name}


def leakage_report(ds: Dataset, parts: pd.Series, name: str, videos: pd.DataFrame | None = None,
                   labels: ClipLabels | None = None) -> LeakageReport:
    """Check a split for subjects and recordings in several parts, and tabulate label balance.

    Args:
        ds: The dataset.
        parts: Part per ``video_id``.
        name: Split name, for the report.
        videos: The dataset's clips (read when not given).
        labels: Their label summaries (computed when not given).
    """
    videos = split_clips(ds) if videos is None else videos
    v = videos[videos["video_id"].isin(parts.index)].copy()
    v["part"] = v["video_id"].map(parts)
    labels = clip_labels(ds, v) if labels is None else labels
    order = part_order(v["part"])

    def leaked(column: str) -> dict[str, list[str]]:
        per = v.dropna(subset=[column]).groupby(column)["part"].agg(lambda p: part_order(p))
        return {str(k): list(p) for k, p in per.items() if len(p) > 1}

    g = v.groupby("part")
    table = pd.DataFrame({"clips": g.size(), "recordings": g["recording"].nunique(),
                          "subjects": g["subject"].nunique()}).reindex(order)
    per_ex = pd.crosstab(v["part"], v["exercise"]).reindex(order).fillna(0).astype(int)
    table = table.join(per_ex)
    if len(labels.verdicts):
        verdicts = v["video_id"].map(labels.verdicts).fillna(0)
        fails = v["video_id"].map(labels.fails).fillna(0)
        judged = verdicts > 0
        table["faulty"] = (fails > 0)[judged].groupby(v.loc[judged, "part"]).mean().reindex(order)
        table["fail_rate"] = (fails.groupby(v["part"]).sum() / verdicts.groupby(v["part"]).sum()).reindex(order)
    if len(labels.score):
        table["score"] = v["video_id"].map(labels.score).groupby(v["part"]).mean().reindex(order)
    table.index.name = "part"
    return LeakageReport(
        name=name, table=table, leaked_subjects=leaked("subject"), leaked_recordings=leaked("recording"),
        subjects=int(v["subject"].nunique()), recordings=int(v["recording"].nunique()),
        unassigned=int(len(videos) - len(v)), score_name=labels.score_name)


# --------------------------------------------------------------------------------------------
# High level: make a split, and the command
# --------------------------------------------------------------------------------------------

@dataclass
class SplitResult:
    """What :func:`make_split` produced: named splits with their leakage reports."""

    dataset: str
    splits: dict[str, pd.Series]
    reports: list[LeakageReport]
    saved: bool
    default: str | None

    def lines(self) -> list[str]:
        out = []
        for report in self.reports:
            out += [*report.lines(), ""]
        if self.saved:
            out.append(f"saved split(s) {', '.join(self.splits)} in dataset {self.dataset!r}"
                       + (f"; {self.default!r} is now the default (videos.split)" if self.default else ""))
        return out


def _seed_name(seed: int, ratios: Sequence[float]) -> str:
    if tuple(ratios) == DEFAULT_RATIOS:
        return f"seed{seed}"
    return f"seed{seed}-" + "-".join(f"{round(r * 100):g}" for r in ratios)


def make_split(ds: Dataset, scheme: str = "group", *, ratios: Sequence[float] | str = DEFAULT_RATIOS,
               seed: int = 0, folds: int = 5, stratify: bool = True, save_as: str | None = None,
               default: bool | None = None, dry_run: bool = False) -> SplitResult:
    """Make (or look up) a split, report its leakage, and store it.

    Args:
        ds: The dataset.
        scheme: ``group`` (seeded train/val/test), ``kfold``, or the name of a derived or stored
            split (``alex-authors``, ``ucf-fold1``, ``flex-split4``, ``imported``, ``seed3``...)
            to report on and optionally make the default.
        ratios: Train/val/test shares for ``group``.
        seed: Seed for ``group`` and ``kfold``.
        folds: Number of folds for ``kfold``.
        stratify: Balance exercises and labels.
        save_as: Name to store a ``group`` split under (default ``seed<S>``), or the prefix of a
            k-fold's splits (default ``kfold<K>-seed<S>``).
        default: Write the split into ``videos.split``; default true for ``group`` only.
        dry_run: Report only; store nothing.

    Raises:
        InputError: On an unknown scheme, bad ratios, too few groups, or ``default`` with k-fold.
    """
    videos = split_clips(ds)
    labels = clip_labels(ds, videos)
    make_default = (scheme == "group") if default is None else default
    if scheme == "group":
        ratios = parse_ratios(ratios)
        name = save_as or _seed_name(seed, ratios)
        splits = {name: group_split(ds, ratios, seed, stratify=stratify, videos=videos)}
        params = {name: {"method": "group", "seed": seed, "ratios": list(ratios), "stratify": stratify}}
        reports = [leakage_report(ds, splits[name], name, videos, labels)]
    elif scheme == "kfold":
        if make_default:
            raise InputError("a k-fold split cannot be the default", hint="make a group split the default instead")
        prefix = save_as or f"kfold{folds}-seed{seed}"
        assigned = kfold_split(ds, folds, seed, stratify=stratify, videos=videos)
        splits = {f"{prefix}-{i}": fold_parts(assigned, i) for i in range(1, folds + 1)}
        params = {n: {"method": "kfold", "k": folds, "fold": i, "seed": seed, "stratify": stratify}
                  for i, n in enumerate(splits, start=1)}
        reports = [leakage_report(ds, assigned, f"{prefix} (folds)", videos, labels)]
    else:
        parts = load_split(ds, scheme, videos)
        splits, params = {scheme: parts}, {}
        reports = [leakage_report(ds, parts, scheme, videos, labels)]
    saved = not dry_run and (bool(params) or make_default)
    if saved:
        for name, parts in splits.items():
            if name in params or make_default:
                save_split(ds, name, parts, params.get(name, {"method": "copy", "of": name}), default=make_default)
    return SplitResult(ds.name, splits, reports, saved, next(iter(splits)) if saved and make_default else None)
