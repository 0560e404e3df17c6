"""The labelling queue: which clip an annotator should label next.

Clips come in four tiers, the first non-empty one first:

1. ``unlabelled``: the annotator has no label of their own on the clip (neither pulled into the
   store nor made in this FiftyOne dataset since);
2. ``disagreement``: annotators disagree in the store (a criterion's verdict or the repetition
   count differs between two of them), the most disagreements first;
3. ``model unsure``: the repetition counter's suggestion is least sure (lowest periodicity; a clip
   where it found no period at all comes first);
4. ``done``: everything else.

Within a tier clips keep the dataset's order (by ``video_id``). This is the first step of active
learning: human time goes where the labels are missing or doubtful.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from annotators import foapi

TIERS = ("unlabelled", "disagreement", "model unsure", "done")


def _own_labels(doc: dict[str, Any], annotator: str) -> bool:
    base = doc.get("gymdata_base") or {}
    items = [*(base.get("criteria") or {}).values(), *(base.get("scores") or {}).values(),
             *(base.get("segments") or []), *(base.get("penalties") or [])]
    if any(x.get("origin") == "human" and x.get("annotator") == annotator for x in items):
        return True
    return any(e.get("annotator") == annotator and e.get("origin", "human") == "human"
               for e in doc.get("gymdata_log") or [])


def disagreements(store_name: str | None) -> Counter:
    """Per clip, how many criteria (plus one for the repetition count) two annotators disagree on."""
    out: Counter = Counter()
    if not store_name:
        return out
    from gymdata import store
    from gymdata.errors import GymdataError
    from gymdata.labels import current

    try:
        ds = store.open_dataset(store_name)
    except GymdataError:
        return out  # the App may run where the store is not: no disagreement tier then
    crit = current(ds, "criteria", per_rater=True)
    crit = crit[crit["origin"] == "human"]
    if len(crit):
        verdicts = crit.assign(v=crit["passed"].astype(object).where(crit["passed"].notna(), "unsure"))
        split = verdicts.groupby(["video_id", "criterion"])["v"].nunique()
        for (vid, _), n in split.items():
            if n > 1:
                out[vid] += 1
    segs = current(ds, "segments", per_rater=True)
    segs = segs[(segs["origin"] == "human") & (segs["kind"] == "repetition")]
    if len(segs):
        counts = segs.groupby(["video_id", "rater"]).size().groupby("video_id").nunique()
        for vid, n in counts.items():
            if n > 1:
                out[vid] += 1
    return out


def label_queue(dataset, annotator: str) -> list[dict[str, Any]]:
    """Every clip of a pushed dataset in the order to label them, for one annotator.

    Take samples (:mod:`annotators.takes`) hold no labels: the queue lists the view clips, each with
    the take it is part of (``take_id``, None if none), which is the sample to open to label both
    views at once.

    Returns:
        ``[{"sample_id", "group_id", "video_id", "take_id", "tier", "why"}]``, the next clip first.
    """
    from annotators.takes import TAKE_FIELD, TAKE_SLICE

    coll = dataset._sample_collection
    docs = list(coll.find({TAKE_FIELD: {"$exists": False}}, {"video_id": 1, "group": 1, "gymdata_base": 1,
                                                             "gymdata_log": 1, "suggestion": 1}).sort("video_id", 1))
    take_ids = {d["group"]["_id"]: str(d["_id"]) for d in coll.find({"group.name": TAKE_SLICE}, {"group": 1})}
    split = disagreements(foapi.gymdata_info(dataset).get("store"))
    rows = []
    for doc in docs:
        sug = doc.get("suggestion") or {}
        if not _own_labels(doc, annotator):
            key, why = (0, 0.0), f"no label by {annotator} yet"
        elif split.get(doc["video_id"]):
            n = split[doc["video_id"]]
            key, why = (1, -float(n)), f"annotators disagree on {n} item(s)"
        elif sug:
            p = sug.get("periodicity")
            key, why = (2, -2.0 if p is None else float(p)), (
                "the counter found no period" if p is None else f"the counter is unsure (periodicity {p:.2f})")
        else:
            key, why = (3, 0.0), "labelled, no disagreement"
        group = doc.get("group") or {}
        rows.append({"sample_id": str(doc["_id"]), "group_id": str(group["_id"]) if group else None,
                     "video_id": doc["video_id"], "take_id": take_ids.get(group.get("_id")), "tier": TIERS[key[0]], "why": why, "_key": key})
    rows.sort(key=lambda r: r["_key"])  # stable: the dataset's order within a tier
    for r in rows:
        del r["_key"]
    return rows


def next_clip(dataset, annotator: str, current: str | None = None) -> dict[str, Any] | None:
    """The first clip of :func:`label_queue` other than ``current``; None when there is none."""
    return next((r for r in label_queue(dataset, annotator) if r["sample_id"] != str(current)), None)
