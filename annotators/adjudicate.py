"""``gymdata adjudicate NAME --raters A B``: two annotators' labels side by side, and a reviewer's picks.

:func:`build` pushes store dataset ``NAME`` to a FiftyOne dataset of its own (default
``NAME-adjudicate-A-B``) and adds, on every clip, each rater's current labels as separate fields
so the App shows them next to each other:

* ``repetitions_<rater>``, ``phases_<rater>``, ``states_<rater>`` (``TemporalDetections``, so the
  tracks lie on the App's timeline one above the other; A/R states as segments labelled A or R);
* ``criteria_<rater>`` (``Classifications``, label = criterion, attribute ``verdict``) and
  ``score_<name>_<rater>``;
* ``disagreements`` (how many keys differ) and ``disagree_on`` (which), and ``adjudication``: per
  key (``criterion:<name>``, ``score:<name>``, ``repetition``, ``phase``, ``state``, ``penalties``)
  each rater's value, whether they agree, and the picks made so far.

A saved view ``disagreements-first`` sorts clips by ``disagreements``. Take samples (the two-view
slice, :mod:`annotators.takes`) carry the sum of their views' disagreements and the frontal
view's tracks.

:func:`pick` (the App operator "Adjudicate: pick A's or B's label") writes the chosen rater's value
as **new edits by the reviewer** on that clip (a criterion or score edit; for segments and
penalties the clip's set of that kind is replaced by the chosen rater's), each edit marked with
``adjudication = {key, picked}``. A pull then appends them as human rows in the reviewer's name;
nothing is ever written in A's or B's name, and the reviewer may not be A or B.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from annotators import foapi, takes
from annotators import labels as L
from gymdata.errors import GymdataError

SEGMENT_KINDS = ("repetition", "phase", "state")
VIEW_NAME = "disagreements-first"


class AdjudicationError(GymdataError):
    """An adjudication that cannot be made (unknown rater or key, a reviewer who is a rater)."""

    exit_code = 2


@dataclass
class AdjudicationReport:
    """What :func:`build` made."""

    store_name: str
    fo_name: str
    raters: list[str]
    clips: int = 0
    clips_disagreeing: int = 0
    keys: dict[str, int] = field(default_factory=dict)  # key kind -> clips disagreeing on it
    top: list[dict] = field(default_factory=list)  # the clips with the most disagreements

    def lines(self) -> list[str]:
        a, b = self.raters
        out = [(f"adjudication of {a} vs {b} on {self.store_name!r}: FiftyOne dataset {self.fo_name!r}, "
                f"{self.clips_disagreeing} of {self.clips} clip(s) disagree")]
        if self.keys:
            out.append("  disagreements: " + ", ".join(f"{k} {n}" for k, n in sorted(self.keys.items(),
                                                                                  key=lambda kv: -kv[1])))
        for row in self.top[:5]:
            out.append(f"  {row['video_id']}: {', '.join(row['keys'])}")
        out.append(f"review: gymdata app {self.store_name} --fo-name {self.fo_name} --annotator REVIEWER "
                   f"(view '{VIEW_NAME}', operator 'Adjudicate: pick'), then gymdata fiftyone pull "
                   f"{self.store_name} --fo-name {self.fo_name}")
        return out


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") or "rater"


def rater_values(ds, video_ids: Sequence[str], rater: str) -> dict[str, dict[str, Any]]:
    """One rater's current labels per clip, as ``{video_id: {key: value}}`` (values comparable with ==)."""
    from gymdata.labels import current

    out: dict[str, dict[str, Any]] = {v: {} for v in video_ids}
    for table in ("criteria", "scores", "segments", "penalties"):
        df = current(ds, table, video_ids=list(video_ids), per_rater=True)
        df = df[df["rater"] == rater]
        for row in df.to_dict("records"):
            vals = out.setdefault(row["video_id"], {})
            if table == "criteria":
                vals[f"criterion:{row['criterion']}"] = L.verdict_of(L._clean(row.get("passed")))
            elif table == "scores":
                vals[f"score:{row['name']}"] = float(row["value"])
            elif table == "segments":
                vals.setdefault(row["kind"], []).append([row["label"], int(row["start_frame"]), int(row["end_frame"])])
            else:
                pen = [L._clean(row.get(k)) for k in ("error_type", "points", "keystep", "feedback", "start_frame",
                                                      "end_frame")]
                vals.setdefault("penalties", []).append(pen)
    for vals in out.values():
        for key in SEGMENT_KINDS:
            if key in vals:
                vals[key] = sorted(vals[key], key=lambda x: (x[1], x[2], x[0]))
        if "penalties" in vals:
            vals["penalties"] = sorted(vals["penalties"], key=lambda x: [str(v) for v in x])
    return out


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict]:
    """Per key either rater labelled: ``{"key", "values": [a's, b's], "agree"}`` (a key one rater left out
    disagrees). A list, not a dict: criterion names may hold dots, which MongoDB keys may not."""
    keys = sorted(set(a) | set(b), key=lambda k: (k.split(":")[0], k))
    return [{"key": k, "values": [a.get(k), b.get(k)], "agree": a.get(k) == b.get(k)} for k in keys]


def _tracks(video_id: str, values: Mapping[str, Any], slug: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for kind, fname in (("repetition", "repetitions"), ("phase", "phases"), ("state", "states")):
        segs = [{"id": f"{slug}-{kind}-{i}", "kind": kind, "label": lab, "start": s, "end": e}
                for i, (lab, s, e) in enumerate(values.get(kind) or [])]
        fields[f"{fname}_{slug}"] = foapi.temporal_detections(f"{video_id}\0{slug}", segs, kind)
    fields[f"criteria_{slug}"] = {"_cls": "Classifications", "classifications": [
        {"_id": foapi._oid(f"{video_id}\0{slug}\0{k}"), "_cls": "Classification", "label": k.split(":", 1)[1],
         "tags": [], "verdict": v} for k, v in sorted(values.items()) if k.startswith("criterion:")]}
    for k, v in values.items():
        if k.startswith("score:"):
            fields[f"{foapi.score_field(k.split(':', 1)[1])}_{slug}"] = v
    return fields


def build(name: str, raters: Sequence[str], *, fo_name: str | None = None, database_uri: str | None = None,
          progress: bool = False) -> AdjudicationReport:
    """Push ``name`` for adjudicating two raters (see the module docstring).

    Raises:
        AdjudicationError: If ``raters`` is not two different names, or a rater has no label in ``name``.
        DatasetNotFoundError: If the store dataset does not exist.
    """
    from annotators.push import push
    from gymdata import store

    raters = [str(r).strip() for r in raters]
    if len(raters) != 2 or not all(raters) or raters[0] == raters[1]:
        raise AdjudicationError(f"adjudication needs two different raters, got {raters}",
                                hint="gymdata adjudicate NAME --raters ANA BEN")
    ds = store.open_dataset(name)
    fo_name = fo_name or f"{name}-adjudicate-{_slug(raters[0])}-{_slug(raters[1])}"
    ids = ds.df("videos", columns=["video_id"])["video_id"].tolist()
    values = {r: rater_values(ds, ids, r) for r in raters}
    for r in raters:
        if not any(values[r].values()):
            raise AdjudicationError(f"{r!r} has no label in {name!r}",
                                    hint="pull their FiftyOne dataset first (gymdata fiftyone pull NAME --fo-name ...)"
                                    " or check the spelling (gymdata agreement NAME lists the raters)")
    push(name, fo_name=fo_name, database_uri=database_uri, progress=progress)
    dataset = foapi.load_fo_dataset(fo_name, store_name=name)
    info = foapi.gymdata_info(dataset)
    info["adjudication"] = {"raters": raters, "slugs": [_slug(r) for r in raters]}
    dataset.info["gymdata"] = info
    _declare(dataset, raters, values)
    report = AdjudicationReport(name, fo_name, raters, clips=len(ids))
    coll = dataset._sample_collection
    by_group: dict[Any, int] = {}
    rows = []
    for doc in coll.find({"video_id": {"$in": ids}}, {"video_id": 1, "group": 1, "adjudication": 1}):
        vid = doc["video_id"]
        keys = compare(values[raters[0]].get(vid, {}), values[raters[1]].get(vid, {}))
        differ = [k["key"] for k in keys if not k["agree"]]
        picks = (doc.get("adjudication") or {}).get("picks") or []
        fields = {**_tracks(vid, values[raters[0]].get(vid, {}), _slug(raters[0])),
                  **_tracks(vid, values[raters[1]].get(vid, {}), _slug(raters[1])),
                  "disagreements": len(differ), "disagree_on": differ,
                  "adjudication": {"raters": raters, "keys": keys, "picks": picks}}
        coll.update_one({"_id": doc["_id"]}, {"$set": fields})
        if doc.get("group"):
            by_group[doc["group"]["_id"]] = by_group.get(doc["group"]["_id"], 0) + len(differ)
        if differ:
            report.clips_disagreeing += 1
            rows.append({"video_id": vid, "disagreements": len(differ), "keys": differ})
            for k in differ:
                report.keys[k.split(":")[0]] = report.keys.get(k.split(":")[0], 0) + 1
    for take in coll.find({"group.name": takes.TAKE_SLICE}, {"group": 1, takes.TAKE_FIELD: 1}):
        ref = coll.find_one({"_id": foapi._oid(take[takes.TAKE_FIELD]["views"][takes.TAKE_VIEWS[0]])})
        copy = {k: v for k, v in ref.items() if k.endswith(tuple(f"_{_slug(r)}" for r in raters))}
        coll.update_one({"_id": take["_id"]}, {"$set": {**copy, "disagreements": by_group.get(take["group"]["_id"], 0),
                                                        "disagree_on": []}})
    report.top = sorted(rows, key=lambda r: (-r["disagreements"], r["video_id"]))
    dataset.save()
    if dataset.has_saved_view(VIEW_NAME):
        dataset.delete_saved_view(VIEW_NAME)
    dataset.save_view(VIEW_NAME, dataset.sort_by("disagreements", reverse=True),
                      description=f"clips where {raters[0]} and {raters[1]} disagree most, first")
    return report


def _declare(dataset, raters: Sequence[str], values: Mapping[str, Mapping]) -> None:
    """Declare the per-rater fields, so the App shows them for every clip."""
    import fiftyone as fo

    known = dataset.get_field_schema(flat=True)
    todo: list[tuple[str, Any, dict]] = [("disagreements", fo.IntField, {}),
                                         ("disagree_on", fo.ListField, {"subfield": fo.StringField}),
                                         ("adjudication", fo.DictField, {})]
    for r in raters:
        slug = _slug(r)
        for fname in ("repetitions", "phases", "states"):
            todo.append((f"{fname}_{slug}", fo.EmbeddedDocumentField, {"embedded_doc_type": fo.TemporalDetections}))
        todo.append((f"criteria_{slug}", fo.EmbeddedDocumentField, {"embedded_doc_type": fo.Classifications}))
        names = {k.split(":", 1)[1] for vals in values[r].values() for k in vals if k.startswith("score:")}
        todo += [(f"{foapi.score_field(n)}_{slug}", fo.FloatField, {}) for n in sorted(names)]
    for path, ftype, kw in todo:
        if path not in known:
            dataset.add_sample_field(path, ftype, **kw)
    for r in raters:
        path = f"criteria_{_slug(r)}.classifications.verdict"
        if path not in dataset.get_field_schema(flat=True):
            dataset.add_sample_field(path, fo.StringField)


# -- picks -----------------------------------------------------------------------------------------


def _edits_for(key: str, value: Any, labels: Mapping[str, Any], reviewer: str, num_frames: int) -> list[dict]:
    """The reviewer's edits that make a clip's ``key`` equal ``value`` (one rater's)."""
    at = L.now_iso()

    def make(op: str, **kw: Any) -> dict:  # one time for the whole pick
        return L.make_edit(op, reviewer, at=at, **kw)

    kind, _, name = key.partition(":")
    if kind == "criterion":
        if value is None:
            raise AdjudicationError(f"the chosen rater has no verdict for {name!r}", hint="pick the other rater")
        return [make("criterion", name=name, verdict=value)]
    if kind == "score":
        if value is None:
            raise AdjudicationError(f"the chosen rater has no {name} score", hint="pick the other rater")
        return [make("score", name=name, value=value)]
    if kind in ("repetition", "phase"):
        edits = [make("segment_delete", segment=s["id"]) for s in labels["segments"] if s["kind"] == kind]
        return edits + [make("segment", kind=kind, label=lab, start=s, end=e) for lab, s, e in value or []]
    if kind == "state":
        edits = [make("state", label=None, start=0, end=max(num_frames - 1, 0))]
        return edits + [make("state", label=lab, start=s, end=e) for lab, s, e in value or []]
    if kind == "penalties":
        edits = [make("penalty_delete", penalty=p["id"]) for p in labels["penalties"]]
        return edits + [make("penalty", error_type=et, points=pts, keystep=ks, feedback=fb, start=s, end=e)
                        for et, pts, ks, fb, s, e in value or []]
    raise AdjudicationError(f"unknown adjudication key {key!r}")


def pick(dataset, sample_id, key: str, rater: str, reviewer: str) -> list[dict]:
    """Make ``rater``'s label of ``key`` the clip's label, as edits by ``reviewer``; returns the edits applied.

    On a take sample, ``key`` may name a view: ``"lateral/criterion:Depth L"`` (default: the first view
    having the key).

    Raises:
        AdjudicationError: If the sample, key or rater is not part of the adjudication, or the
            reviewer is one of the raters.
    """
    reviewer = (reviewer or "").strip() or L.default_annotator()
    coll = dataset._sample_collection
    doc = coll.find_one({"_id": foapi._oid(str(sample_id))}, {"adjudication": 1, takes.TAKE_FIELD: 1, "num_frames": 1})
    if doc is not None and takes.is_take(doc):
        views = takes.view_samples(dataset, doc["_id"])
        view, _, rest = key.partition("/") if "/" in key else ("", "", key)
        for v, sid in views.items():
            if view in ("", v) and rest in pick_choices(dataset, sid):
                return pick(dataset, sid, rest, rater, reviewer)
        raise AdjudicationError(f"no adjudication key {key!r} on this take", hint="choose one the operator lists")
    adj = (doc or {}).get("adjudication")
    if not adj:
        raise AdjudicationError(f"sample {sample_id} is not part of an adjudication",
                                hint="make one with: gymdata adjudicate NAME --raters A B")
    if rater not in adj["raters"]:
        raise AdjudicationError(f"{rater!r} is not one of the raters {adj['raters']}")
    if reviewer in adj["raters"]:
        raise AdjudicationError(f"the reviewer {reviewer!r} is one of the raters",
                                hint="a third person adjudicates: set the annotator name to the reviewer's")
    entry = next((k for k in adj["keys"] if k["key"] == key), None)
    if entry is None:
        raise AdjudicationError(f"no adjudication key {key!r} on this clip",
                                hint=f"keys: {', '.join(k['key'] for k in adj['keys']) or 'none'}")
    clip = foapi.read_clip(dataset, doc["_id"])
    edits = _edits_for(key, entry["values"][adj["raters"].index(rater)], clip["labels"], reviewer,
                       int(clip.get("num_frames") or 0))
    for e in edits:
        e["adjudication"] = {"key": key, "picked": rater}
    applied = takes.apply_edits(dataset, doc["_id"], edits)["applied"].get(str(doc["_id"]), [])
    coll.update_one({"_id": doc["_id"]}, {"$push": {"adjudication.picks": {
        "key": key, "rater": rater, "reviewer": reviewer, "at": dt.datetime.now(dt.timezone.utc).isoformat()}}})
    return applied


def pick_choices(dataset, sample_id) -> list[str]:
    """The keys a reviewer can pick on a sample, disagreements first (view-qualified on a take)."""
    coll = dataset._sample_collection
    doc = coll.find_one({"_id": foapi._oid(str(sample_id))}, {"adjudication": 1, takes.TAKE_FIELD: 1})
    if doc is None:
        return []
    if takes.is_take(doc):
        return [f"{v}/{k}" for v, sid in takes.view_samples(dataset, doc["_id"]).items()
                for k in pick_choices(dataset, sid)]
    keys = (doc.get("adjudication") or {}).get("keys") or []
    return [k["key"] for k in sorted(keys, key=lambda k: (k["agree"], k["key"]))]


# -- the App operator ------------------------------------------------------------------------------


def register(plugin) -> None:
    """Register the "Adjudicate: pick" operator with FiftyOne (called from the plugin package's ``register``)."""
    import fiftyone.operators as foo
    from fiftyone.operators import types

    class AdjudicatePick(foo.Operator):
        @property
        def config(self):
            return foo.OperatorConfig(name="adjudicate_pick", label="Adjudicate: pick A's or B's label",
                                      dynamic=True)

        def resolve_input(self, ctx):
            inputs = types.Object()
            sid = ctx.current_sample
            adj = foapi.gymdata_info(ctx.dataset).get("adjudication") or {}
            if not sid or not adj:
                inputs.view("none", types.Notice(label="Open a clip of a dataset made by 'gymdata adjudicate'."))
                return types.Property(inputs)
            keys = pick_choices(ctx.dataset, sid)
            key_choices = types.Choices()
            for k in keys:
                key_choices.add_choice(k, label=k)
            inputs.enum("key", key_choices.values(), required=True, label="Label to decide", view=key_choices,
                        default=keys[0] if keys else None)
            rater_choices = types.RadioGroup()
            for r in adj["raters"]:
                rater_choices.add_choice(r, label=r)
            inputs.enum("rater", rater_choices.values(), required=True, label="Take the label of", view=rater_choices)
            inputs.str("reviewer", required=True, label="Reviewer (the picks are recorded in this name)",
                       default=L.default_annotator())
            return types.Property(inputs)

        def execute(self, ctx):
            applied = pick(ctx.dataset, ctx.current_sample, ctx.params["key"], ctx.params["rater"],
                           ctx.params.get("reviewer") or L.default_annotator())
            ctx.trigger("reload_samples")
            return {"applied": len(applied)}

    plugin.register(AdjudicatePick)


def disagreement_table(dataset) -> pd.DataFrame:
    """Clips with their disagreement count and keys, most first (for scripts and tests)."""
    rows = [{"video_id": d["video_id"], "disagreements": d.get("disagreements") or 0,
             "keys": list(d.get("disagree_on") or [])}
            for d in dataset._sample_collection.find({"video_id": {"$ne": None}, "adjudication": {"$exists": True}},
                                                     {"video_id": 1, "disagreements": 1, "disagree_on": 1})]
    return pd.DataFrame(rows).sort_values(["disagreements", "video_id"], ascending=[False, True]).reset_index(drop=True)
