"""``gymdata fiftyone push NAME``: project a store dataset into a FiftyOne dataset.

One video sample per clip. Clips of one take (same ``recording`` and ``rep_index``) form a FiftyOne
**group** whose slices are the views (``frontal``, ``lateral``, ...), so the App shows the views of
a take side by side. Per sample:

* ``filepath``: an H.264 MP4 the browser plays. A video that already is one is used in place;
  frame folders and other codecs are encoded once into ``$GYMDATA_HOME/cache/mp4/`` (keyed by the
  files' paths, sizes and times and the frame rate), so a second push encodes nothing;
* ``metadata``: ``VideoMetadata`` from the store's probe (size, frame rate, frame count, duration);
* clip fields: ``video_id``, ``corpus``, ``exercise``, ``view``, ``subject``, ``recording``, ...;
* labels (rendered by :func:`annotators.foapi.render` from the store's current labels plus the edits
  made in the App): ``criteria`` (``Classifications``, label = criterion, attributes ``verdict``,
  ``passed``, ``origin``, ``annotator``, ``edited_at``), ``score_<name>`` (floats),
  ``repetitions`` / ``phases`` (``TemporalDetections``), ``rep_count``, ``penalties``,
  ``penalty_points``, ``annotators``, ``edited_at``;
* frames: ``pose`` (``Keypoints``, the 33 BlazePose landmarks, drawn with the BlazePose skeleton)
  and ``state`` (``Classification`` A or R).

Speed: samples go in through ``add_samples`` (few), frames (many) as raw documents in bulk
``insert_many`` calls built from the pose arrays; nothing loops through ``sample.save()``.

Pushing again updates in place: samples are matched by ``video_id`` and keep their ids and their
edit log; clip fields, base labels and label fields are rewritten; frames are rewritten only for
clips whose poses or media changed. A clip's base is replaced by the store's current labels, which
already contain every pulled edit, and edits not yet pulled are replayed on top of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annotators import foapi, takes
from annotators import labels as L
from gymdata import media, store
from gymdata.errors import GymdataError, InputError
from gymdata.labels import current_by_clip as labels_by_clip
from gymdata.labels import read_ledger
from gymdata.runner import run_tasks
from gymdata.schema import NUM_LANDMARKS
from gymdata.validate import validate

MEDIA_CACHE_VERSION = "h264-1"
_FRAME_BATCH = 20_000  # frame documents per insert_many call
_PLAYABLE_CODECS = ("h264",)
_PLAYABLE_SUFFIXES = (".mp4", ".m4v")


@dataclass
class PushReport:
    """What a push did."""

    store_name: str
    fo_name: str
    added: int = 0
    updated: int = 0
    frames_written: int = 0
    encoded: int = 0
    takes: int = 0
    takes_added: int = 0
    takes_encoded: int = 0
    orphans: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"pushed {self.store_name!r} to FiftyOne dataset {self.fo_name!r} in {self.seconds:.1f}s: "
               f"{self.added} clip(s) added, {self.updated} updated, {self.frames_written:,} frame(s) written, "
               f"{self.encoded} clip(s) encoded to MP4"]
        if self.takes:
            out.append(f"{self.takes} two-view take(s) in slice {takes.TAKE_SLICE!r} ({self.takes_added} added, "
                       f"{self.takes_encoded} composite(s) encoded)")
        if self.orphans:
            out.append(f"{self.orphans} FiftyOne sample(s) are no longer in the store (kept, with their edits)")
        for vid, why in self.failed:
            out.append(f"  skipped {vid}: {why}")
        return out


# -- media -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaJob:
    """One clip to make playable (picklable, for worker processes)."""

    video_id: str
    media_kind: str
    path: str
    fps: float
    cache_dir: str


def _frame_files(path: Path) -> list[Path]:
    if any(ch in path.name for ch in "*?["):
        return media.list_frame_files(path.parent, path.name)
    return media.list_frame_files(path)


def playable_mp4(job: MediaJob) -> tuple[str, bool]:
    """The H.264 MP4 to show for a clip, without encoding: ``(path, whether it must be encoded)``.

    A video that already is H.264 in an MP4 container with even dimensions is shown in place; any
    other clip maps to a file in the cache named after its inputs.

    Raises:
        CorruptMediaError: If a video cannot be probed.
        InputError: If a frame folder is missing.
    """
    src = Path(job.path)
    if job.media_kind == "video":
        info = media.probe_video(src)
        if (info.codec in _PLAYABLE_CODECS and src.suffix.lower() in _PLAYABLE_SUFFIXES
                and info.width % 2 == 0 and info.height % 2 == 0):
            return str(src), False
        files = [src]
    else:
        files = _frame_files(src)
    key = hashlib.sha1(f"{MEDIA_CACHE_VERSION}\0{job.fps}\0{store.fingerprint(files, Path('/'))}".encode()).hexdigest()
    out = Path(job.cache_dir) / key[:2] / f"{key}.mp4"
    return str(out), not out.is_file()


def encode_mp4(job: MediaJob) -> str:
    """Encode a clip into its cache file (see :func:`playable_mp4`); returns the path.

    Raises:
        CorruptMediaError: If the clip cannot be decoded.
    """
    out, needed = playable_mp4(job)
    if needed:
        src = Path(job.path)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        frames = media.iter_video(src) if job.media_kind == "video" else media.iter_images(_frame_files(src))
        media.encode_h264((rgb for _, rgb in frames), out, job.fps or 30.0)
    return out


def media_cache_dir() -> Path:
    """Where encoded MP4s are kept: ``$GYMDATA_HOME/cache/mp4``."""
    return store.home() / "cache" / "mp4"


# -- poses -----------------------------------------------------------------------------------------


def load_poses(ds: store.Dataset, video_ids: list[str], source: str | None = None
               ) -> dict[str, tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """BlazePose landmarks per clip: ``{video_id: (source, frames, landmarks (n,33,4), detected)}``.

    A clip with several pose sources gets ``source`` if given, else the one with the most frames.
    """
    if not ds.has("poses"):
        return {}
    flt: dict[str, Any] = {"layout": "blazepose33", "video_id": video_ids}
    if source:
        flt["source"] = source
    tbl = ds.read("poses", columns=["video_id", "frame", "landmarks", "detected", "source"], filter=flt)
    if not len(tbl):
        return {}
    keys = tbl.select(["video_id", "source"]).to_pandas()
    chosen = (keys.groupby(["video_id", "source"]).size().rename("n").reset_index()
              .sort_values(["video_id", "n", "source"], ascending=[True, False, True])
              .drop_duplicates("video_id"))
    pick = set(zip(chosen["video_id"], chosen["source"]))
    mask = np.fromiter((k in pick for k in zip(keys["video_id"], keys["source"])), bool, len(keys))
    lm = tbl.column("landmarks").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    lm = lm.reshape(len(tbl), NUM_LANDMARKS, 4)[mask]
    frames = tbl.column("frame").to_numpy()[mask]
    detected = tbl.column("detected").to_numpy(zero_copy_only=False)[mask]
    vids = keys["video_id"].to_numpy()[mask]
    srcs = keys["source"].to_numpy()[mask]
    order = np.lexsort((frames, vids))
    vids, frames, lm, detected, srcs = vids[order], frames[order], lm[order], detected[order], srcs[order]
    bounds = np.flatnonzero(np.r_[True, vids[1:] != vids[:-1], True])
    return {vids[a]: (srcs[a], frames[a:b], lm[a:b], detected[a:b]) for a, b in zip(bounds[:-1], bounds[1:])}


def frame_docs(sample_oid, dataset_oid, num_frames: int, pose: tuple | None, labels: Mapping[str, Any],
               rev: int, stamp: dt.datetime) -> list[dict]:
    """Raw frame documents of one clip: ``pose`` where a person was found, ``state`` in A/R runs."""
    from bson import ObjectId

    slot = np.full(num_frames, -1, np.int64)
    points = conf = None
    if pose is not None:
        _, frames, lm, detected = pose
        keep = detected & (frames >= 0) & (frames < num_frames)
        slot[frames[keep]] = np.flatnonzero(keep)
        points = lm[..., :2].astype(np.float64).tolist()  # one tolist per clip: per frame costs 10x more
        vis = lm[..., 3].astype(np.float64)
        unknown = np.isnan(vis).any(axis=1)
        conf = [None if u else v for u, v in zip(unknown.tolist(), vis.tolist())]
    state = [None] * num_frames
    for run in L.state_runs(labels["segments"]):
        doc = foapi.state_doc(run, run["id"])
        for f in range(max(run["start"], 0), min(run["end"], num_frames - 1) + 1):
            state[f] = doc
    docs = []
    for f in range(num_frames):
        doc = {"_id": ObjectId(), "_sample_id": sample_oid, "_dataset_id": dataset_oid, "frame_number": f + 1,
               "created_at": stamp, "last_modified_at": stamp, foapi.STATE_REV: rev}
        i = slot[f]
        if i >= 0:
            doc[foapi.POSE_FIELD] = {"_cls": "Keypoints", "keypoints": [
                {"_id": ObjectId(), "_cls": "Keypoint", "label": "person", "points": points[i],
                 "confidence": conf[i], "tags": [], "attributes": {}}]}
        if state[f] is not None:
            doc[foapi.STATE_FIELD] = state[f]
        docs.append(doc)
    return docs


def _pose_digest(pose: tuple | None) -> str:
    if pose is None:
        return "none"
    source, frames, lm, detected = pose
    digest = hashlib.sha1(source.encode())
    for arr in (frames, lm, detected):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


# -- the dataset -----------------------------------------------------------------------------------


def _declare_schema(fo, dataset, score_names: list[str], *, frames: bool) -> None:
    """Declare every sample (or frame) field and label attribute, so the App shows them before anyone edits.

    One schema merge per collection: declaring fields one by one reloads the dataset each time
    (seconds per field on a busy machine). ``_merge_*_field_schema`` is what ``add_sample_field``
    calls underneath, for many fields at once.
    """
    from fiftyone.core.odm.utils import create_field  # what add_sample_field builds: nullable fields

    specs: dict[str, tuple] = {name: (fo.StringField,) for name in (
        "video_id", "corpus", "exercise", "exercise_raw", "subject", "recording", "view", "split", "skill_level",
        "source_path", "gymdata_fp")}
    specs.update({name: (fo.IntField,) for name in ("rep_index", "num_frames", "rep_count", "gymdata_base_len",
                                                     "gymdata_rev")})
    specs["criteria"] = (fo.EmbeddedDocumentField, {"embedded_doc_type": fo.Classifications})
    for attr, ftype in (("verdict", fo.StringField), ("passed", fo.BooleanField), ("criterion_view", fo.StringField),
                        ("value", fo.FloatField), ("origin", fo.StringField), ("annotator", fo.StringField),
                        ("edited_at", fo.DateTimeField)):
        specs[f"criteria.classifications.{attr}"] = (ftype,)
    for name in ("repetitions", "phases", "suggested_repetitions"):
        specs[name] = (fo.EmbeddedDocumentField, {"embedded_doc_type": fo.TemporalDetections})
        for attr, ftype in (("segment_id", fo.StringField), ("origin", fo.StringField),
                            ("annotator", fo.StringField), ("edited_at", fo.DateTimeField)):
            specs[f"{name}.detections.{attr}"] = (ftype,)
    specs.update({foapi.score_field(name): (fo.FloatField,) for name in {*score_names, L.QUALITY}})
    specs.update({"penalty_points": (fo.FloatField,), "penalties": (fo.ListField, {"subfield": fo.DictField}),
                  "annotators": (fo.ListField, {"subfield": fo.StringField}), "edited_at": (fo.DateTimeField,),
                  "suggestion": (fo.DictField,), "gymdata_base": (fo.DictField,),
                  "gymdata_log": (fo.ListField, {"subfield": fo.DictField}), takes.TAKE_FIELD: (fo.DictField,)})
    frame_specs: dict[str, tuple] = {foapi.POSE_FIELD: (fo.EmbeddedDocumentField, {"embedded_doc_type": fo.Keypoints}),
                                     foapi.STATE_REV: (fo.IntField,)}
    for name in (foapi.STATE_FIELD, foapi.SUGGESTED_STATE_FIELD):
        frame_specs[name] = (fo.EmbeddedDocumentField, {"embedded_doc_type": fo.Classification})
        frame_specs.update({f"{name}.annotator": (fo.StringField,), f"{name}.origin": (fo.StringField,)})

    def build(items: dict[str, tuple]) -> dict[str, Any]:
        return {path: create_field(path.rsplit(".", 1)[-1], spec[0], **(spec[1] if len(spec) > 1 else {}))
                for path, spec in items.items()}

    sample, frame = build(specs), build(frame_specs)
    for nested in (False, True):  # label fields first, then their attributes
        known = dataset.get_field_schema(flat=True)
        known_frames = dataset.get_frame_field_schema(flat=True) or {}
        todo = {k: v for k, v in sample.items() if not frames and k not in known and ("." in k) == nested}
        todo_frames = {k: v for k, v in frame.items() if frames and k not in known_frames and ("." in k) == nested}
        if todo:
            dataset._merge_sample_field_schema(todo)
        if todo_frames:
            dataset._merge_frame_field_schema(todo_frames)


def _annotate_schemas(dataset) -> None:
    """Let FiftyOne's Annotate mode edit the segment fields on its timeline (edits adopted by our code)."""
    fields = [f for f in foapi.ANNOTATE_FIELDS if f not in (dataset.active_label_schemas or [])]
    if fields:
        dataset.set_label_schemas(dataset.generate_label_schemas(fields=list(foapi.ANNOTATE_FIELDS)))
        dataset.activate_label_schemas(fields)


def _slice_name(row: Mapping[str, Any]) -> str:
    if isinstance(row.get("view"), str) and row["view"]:
        return row["view"]
    extras = json.loads(row["extras"]) if isinstance(row.get("extras"), str) else {}
    camera = extras.get("camera") if isinstance(extras, dict) else None
    return "".join(c if c.isalnum() else "_" for c in str(camera)) if camera else "default"


def _group_keys(videos: pd.DataFrame) -> list[tuple[str, str]]:
    """(group key, slice) per clip: a take's views share a group; a clash gets a group of its own."""
    keys = []
    for row in videos.to_dict("records"):
        take = row["recording"] if isinstance(row.get("recording"), str) else row["video_id"]
        rep = row.get("rep_index")
        keys.append((f"{take}\0{'' if rep is None or pd.isna(rep) else int(rep)}", _slice_name(row)))
    seen: dict[tuple[str, str], int] = {}
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
    return [(k if seen[(k, s)] == 1 else f"clip\0{vid}", s) for (k, s), vid in zip(keys, videos["video_id"])]


def _criteria_catalogue(sources: list[store.Dataset]) -> dict[str, list[dict]]:
    """Criteria per exercise, in the order the datasets list them: ``{exercise: [{name, view}]}``."""
    out: dict[str, list[dict]] = {}
    for ds in sources:
        if not ds.has("criteria"):
            continue
        crit = ds.df("criteria", columns=["video_id", "criterion", "view"])
        ex = ds.df("videos", columns=["video_id", "exercise"])
        crit = crit.merge(ex, on="video_id").drop_duplicates(["exercise", "criterion"])
        for row in crit.itertuples(index=False):
            entries = out.setdefault(row.exercise, [])
            if all(e["name"] != row.criterion for e in entries):
                entries.append({"name": row.criterion, "view": None if pd.isna(row.view) else row.view})
    return out


def _knowledge_graph(ds: store.Dataset) -> list[dict]:
    path = ds.attachment("knowledge_graph.json")
    if not path.is_file():
        return []
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("actions", [])
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the knowledge graph: {exc}", path=path,
                         hint="re-import the corpus that wrote it") from None


def _clip_fields(row: Mapping[str, Any], source_path: str) -> dict[str, Any]:
    out = {k: row[k] if isinstance(row.get(k), str) else None  # pandas gives NaN/NA for missing strings
           for k in ("video_id", "corpus", "exercise", "exercise_raw", "subject", "recording", "view", "split",
                     "skill_level")}
    rep = row.get("rep_index")
    out["rep_index"] = None if rep is None or pd.isna(rep) else int(rep)
    out["num_frames"] = int(row["num_frames"])
    out["source_path"] = source_path
    return out


def _metadata(fo, mp4: str, row: Mapping[str, Any]):
    return fo.VideoMetadata(size_bytes=Path(mp4).stat().st_size, mime_type="video/mp4",
                            frame_width=int(row["width"]) - int(row["width"]) % 2,
                            frame_height=int(row["height"]) - int(row["height"]) % 2,
                            frame_rate=float(row["fps"]), total_frame_count=int(row["num_frames"]),
                            duration=float(row["num_frames"]) / float(row["fps"]), encoding_str="avc1")


def _pulled_prefix(log: list[dict], pulled: set[str]) -> int:
    n = 0
    while n < len(log) and log[n]["id"] in pulled:
        n += 1
    return n


def push(name: str, *, fo_name: str | None = None, pose_source: str | None = None,
         criteria_from: list[str] | tuple[str, ...] = (), workers: int = 2, progress: bool = True,
         database_uri: str | None = None, blind_for: str | None = None) -> PushReport:
    """Create or update the FiftyOne dataset of a store dataset (see the module docstring).

    Args:
        name: Store dataset.
        fo_name: FiftyOne dataset name (default ``name``); give each annotator their own for blind
            double labelling.
        pose_source: Poses ``source`` to show when a clip has several (default: the most frames).
        criteria_from: Other store datasets whose criteria lists to offer too (e.g. push the
            whole-take ``sample`` with the criteria of ``sample-alex``).
        workers: Processes encoding frame folders to MP4.
        progress: Show progress bars.
        database_uri: MongoDB URI of a shared FiftyOne database (default: FiftyOne's configuration).
        blind_for: Blind double labelling: the labels shown are this annotator's own and the imported
            ones, never another annotator's (:func:`gymdata.labels.blind`). The FiftyOne dataset
            should be this annotator's own (``fo_name``).

    Raises:
        DatasetNotFoundError: If a store dataset does not exist.
        ValidationError: If the store dataset fails validation.
        GymdataError: If ``fo_name`` is a FiftyOne dataset made from another store dataset.
    """
    start = time.perf_counter()
    fo_name = fo_name or name
    ds = store.open_dataset(name)
    validate(ds)
    extra = [store.open_dataset(n) for n in criteria_from]
    report = PushReport(name, fo_name)
    videos = ds.df("videos").sort_values("video_id").reset_index(drop=True)
    if videos.empty:
        raise InputError(f"dataset {name!r} has no clips to push", hint="import a corpus into it first")

    jobs = [MediaJob(r.video_id, r.media_kind, str(ds.resolve(r.corpus, r.path)), float(r.fps or 30.0),
                     str(media_cache_dir())) for r in videos.itertuples(index=False)]
    mp4: dict[str, str] = {}
    todo = []
    for job in jobs:
        try:
            mp4[job.video_id], needed = playable_mp4(job)
        except GymdataError as exc:
            report.failed.append((job.video_id, str(exc)))
            continue
        if needed:
            todo.append(job)
            del mp4[job.video_id]
    for outcome in run_tasks(encode_mp4, todo, workers=workers, desc="encoding MP4", unit="clip", progress=progress):
        if outcome.ok:
            mp4[outcome.item.video_id] = outcome.value
            report.encoded += 1
        else:
            report.failed.append((outcome.item.video_id, outcome.error))
    videos = videos[videos["video_id"].isin(mp4)].reset_index(drop=True)
    ids = videos["video_id"].tolist()
    poses = load_poses(ds, ids, pose_source)
    pulled = {e["id"] for e in read_ledger(ds)}
    score_names = sorted(set(ds.df("scores", columns=["name"])["name"])) if ds.has("scores") else []

    fo = foapi.import_fiftyone(database_uri)
    if fo.dataset_exists(fo_name):
        dataset = fo.load_dataset(fo_name)
        owner = foapi.gymdata_info(dataset).get("store")
        if owner != name:
            raise GymdataError(f"FiftyOne dataset {fo_name!r} was not pushed from store dataset {name!r}"
                               + (f" but from {owner!r}" if owner else ""),
                               hint="choose another --fo-name, or delete it in FiftyOne first")
        was_blind = foapi.gymdata_info(dataset).get("blind_for")
        if was_blind and blind_for and was_blind != blind_for:
            raise GymdataError(f"FiftyOne dataset {fo_name!r} is the blind copy of {was_blind!r}, not of {blind_for!r}",
                               hint=f"give {blind_for} a FiftyOne dataset of their own: --fo-name {name}-{blind_for}")
        blind_for = blind_for or was_blind  # pushing again keeps a blind copy blind
    else:
        dataset = fo.Dataset(fo_name, persistent=True)
        slices = [s for _, s in _group_keys(videos)]
        dataset.add_group_field(foapi.GROUP_FIELD, default="frontal" if "frontal" in slices else slices[0])

    by_clip = labels_by_clip(ds, ids, blind_for=blind_for)
    coll = dataset._sample_collection
    existing = {d["video_id"]: d for d in coll.find({"video_id": {"$in": ids}},
                                                    {"video_id": 1, "group": 1, "gymdata_fp": 1})}
    report.orphans = coll.count_documents({"video_id": {"$nin": ids}, "group.name": {"$ne": takes.TAKE_SLICE}})
    keys = _group_keys(videos)
    groups: dict[str, Any] = {}  # group key -> group id, existing groups first
    for vid, (key, _) in zip(ids, keys):
        if vid in existing and existing[vid].get("group"):
            groups.setdefault(key, existing[vid]["group"]["_id"])
    new = []
    for row, (key, slice_name) in zip(videos.to_dict("records"), keys):
        if row["video_id"] in existing:
            continue
        group = fo.Group(id=str(groups[key])) if key in groups else fo.Group()
        groups.setdefault(key, group.id)
        new.append(fo.Sample(filepath=mp4[row["video_id"]], group=group.element(slice_name),
                             metadata=_metadata(fo, mp4[row["video_id"]], row),
                             **_clip_fields(row, str(ds.resolve(row["corpus"], row["path"]))),
                             gymdata_rev=0, gymdata_base_len=0))
    _declare_schema(fo, dataset, score_names, frames=False)
    if new:
        dataset.add_samples(new, progress=False)
    _declare_schema(fo, dataset, score_names, frames=True)  # frame fields need video samples to exist
    report.added, report.updated = len(new), len(ids) - len(new)

    stamp = dt.datetime.now(dt.timezone.utc)
    dataset_oid = dataset._doc.id
    to_write: list[tuple[Any, int, tuple | None, dict, int]] = []
    for row in videos.to_dict("records"):
        vid = row["video_id"]
        rows = by_clip.get(vid, {})
        pose = poses.get(vid)
        fp = hashlib.sha1(f"{_pose_digest(pose)}\0{mp4[vid]}\0{int(row['num_frames'])}".encode()).hexdigest()
        if vid in existing:  # Annotate-mode changes become logged edits before the fields are re-rendered
            foapi.adopt_outside_edits(dataset, existing[vid]["_id"])
        while True:  # compare-and-swap against annotators editing while we push
            doc = coll.find_one({"video_id": vid}, {"gymdata_log": 1, "gymdata_rev": 1, "gymdata_base": 1,
                                                    "gymdata_base_len": 1, "gymdata_fp": 1})
            log = doc.get("gymdata_log") or []
            old = L.fold(doc.get("gymdata_base") or L.empty_labels(), log[doc.get("gymdata_base_len") or 0:])
            base = L.labels_from_rows(rows.get("criteria", ()), rows.get("scores", ()), rows.get("segments", ()),
                                      rows.get("penalties", ()), keep_ids=old["segments"] + old["penalties"])
            base_len = _pulled_prefix(log, pulled)
            current = L.fold(base, log[base_len:])
            rev = doc["gymdata_rev"] + 1
            sets = {**foapi.render(vid, current, score_names), "gymdata_base": base, "gymdata_log": log,
                    "gymdata_base_len": base_len,
                    "gymdata_rev": rev, "gymdata_fp": fp, "filepath": mp4[vid],
                    "metadata": _metadata(fo, mp4[vid], row).to_dict(),
                    **_clip_fields(row, str(ds.resolve(row["corpus"], row["path"]))), "last_modified_at": stamp}
            sets["metadata"].pop("_id", None)
            done = coll.update_one({"_id": doc["_id"], "gymdata_rev": doc["gymdata_rev"]}, {"$set": sets})
            if done.modified_count == 1:
                break
        if doc.get("gymdata_fp") != fp:
            to_write.append((doc["_id"], int(row["num_frames"]), pose, current, rev))
        elif L.state_runs(old["segments"]) != L.state_runs(current["segments"]):
            foapi.write_states(dataset, doc["_id"], current, int(row["num_frames"]), rev)

    frames = dataset._frame_collection
    if to_write:
        frames.delete_many({"_sample_id": {"$in": [w[0] for w in to_write]}})
    batch: list[dict] = []
    for oid, num_frames, pose, current, rev in to_write:
        batch += frame_docs(oid, dataset_oid, num_frames, pose, current, rev, stamp)
        if len(batch) >= _FRAME_BATCH:
            frames.insert_many(batch, ordered=False)
            report.frames_written += len(batch)
            batch = []
    if batch:
        frames.insert_many(batch, ordered=False)
        report.frames_written += len(batch)

    catalogue = _criteria_catalogue([ds, *extra])
    dataset.info["gymdata"] = {
        "store": name, "store_path": str(ds.path), "pushed_at": stamp.isoformat(),
        "criteria": catalogue, "score_names": score_names, "knowledge_graph": _knowledge_graph(ds),
        "blind_for": blind_for,
    }
    dataset.skeletons = {foapi.POSE_FIELD: fo.KeypointSkeleton(labels=list(foapi.LANDMARK_NAMES),
                                                              edges=[list(e) for e in foapi.SKELETON_EDGES])}
    dataset.save()
    _annotate_schemas(dataset)
    done = takes.push_takes(fo, dataset, cache_dir=media_cache_dir(), workers=workers, progress=progress)
    report.takes = coll.count_documents({"group.name": takes.TAKE_SLICE})
    report.takes_added, report.takes_encoded = done.added, done.encoded
    report.failed += done.failed
    report.seconds = time.perf_counter() - start
    return report
