"""Two-view takes: the composite ``take`` slice made at push, and take edits routed to the view clips."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from annotators import foapi, takes
from annotators import labels as L
from annotators.pull import pull
from annotators.push import media_cache_dir, push
from gymdata import store
from gymdata.labels import current
from tests.fo_support import fo_db, make_store, mongod  # noqa: F401 (fixtures)


def _by_slice(dataset, name: str, recording: str = "take0"):
    return dataset.select_group_slices(name).match({"recording": recording}).first()


def _ffprobe(path: str) -> dict:
    if not shutil.which("ffprobe"):
        pytest.skip("ffprobe is not installed")
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                          "stream=width,height,nb_read_frames,r_frame_rate", "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"][0]


def test_push_adds_a_composite_take_slice_once(fo_db, tmp_path):
    make_store(tmp_path, frames=24, lateral=(48, 64, 30))  # lateral: portrait and 6 frames longer
    first = push("clips", progress=False, workers=2)
    assert (first.takes, first.takes_added, first.takes_encoded) == (2, 2, 2)
    assert any("two-view take(s)" in line for line in first.lines())
    dataset = fo_db.load_dataset("clips")
    assert dataset.default_group_slice == takes.TAKE_SLICE
    take = _by_slice(dataset, takes.TAKE_SLICE)
    # frontal 64x48 and lateral 48x64 both scaled to 64 high: 85.3 -> 84 (even) + 48 wide; as long as the longer view
    probe = _ffprobe(take.filepath)
    assert (probe["width"], probe["height"], int(probe["nb_read_frames"]), probe["r_frame_rate"]) == (132, 64, 30,
                                                                                                        "25/1")
    assert (take.metadata.frame_width, take.metadata.frame_height, take.metadata.total_frame_count) == (132, 64, 30)
    assert take.filepath.startswith(str(media_cache_dir()))
    assert takes.view_samples(dataset, take.id) == {"frontal": _by_slice(dataset, "frontal").id,
                                                   "lateral": _by_slice(dataset, "lateral").id}
    # the take shows both views' criteria, the frontal repetitions, and A/R states on its frames
    assert {c.label: c.criterion_view for c in take.criteria.classifications} == {
        "Knees over toes F": "frontal", "Hips back L": "lateral", "Depth L": "lateral"}
    assert [d.support for d in take.repetitions.detections] == [[3, 11], [13, 21]]
    assert take.frames[6].state.label == "A" and take.frames[2].state is None
    assert len(take.frames) == 30
    mtime = __import__("os").stat(take.filepath).st_mtime_ns

    again = push("clips", progress=False)  # idempotent: nothing encoded, no new take, same labels
    assert (again.takes, again.takes_added, again.takes_encoded, again.encoded) == (2, 0, 0, 0)
    assert len(dataset.select_group_slices(takes.TAKE_SLICE)) == 2
    take2 = _by_slice(fo_db.load_dataset("clips"), takes.TAKE_SLICE)
    assert take2.id == take.id and take2.filepath == take.filepath
    assert __import__("os").stat(take2.filepath).st_mtime_ns == mtime
    assert [d.support for d in take2.repetitions.detections] == [[3, 11], [13, 21]]
    assert pull("clips").edits == 0


def test_take_edits_reach_both_views_with_one_author_and_time(fo_db, tmp_path):
    make_store(tmp_path, frames=24, lateral=(64, 48, 22))  # lateral 2 frames shorter
    push("clips", progress=False)
    dataset = fo_db.load_dataset("clips")
    take = _by_slice(dataset, takes.TAKE_SLICE)
    rep = take.repetitions.detections[0]  # frames 2-10 on both views (imported, separate ids per view)
    pen = L.make_edit("penalty", "ana", error_type="knees cave", points=2, start=18, end=23)
    result = takes.apply_edits(dataset, take.id, [
        L.make_edit("segment", "ana", segment=rep.segment_id, kind="repetition", label="rep", start=3, end=11),
        L.make_edit("segment", "ana", kind="repetition", label="rep", start=22, end=23),  # past lateral's end
        L.make_edit("state", "ana", label="R", start=0, end=5),
        pen,
        L.make_edit("criterion", "ana", name="Depth L", verdict="fail"),
        L.make_edit("criterion", "ana", name="Knees over toes F", verdict="unsure"),
        L.make_edit("score", "ana", value=45),
    ])
    assert result["take"] == take.id
    views = takes.read_views(dataset, take.id)
    front, lat = views["frontal"]["labels"], views["lateral"]["labels"]
    reps = lambda lab: sorted((s["start"], s["end"]) for s in lab["segments"] if s["kind"] == "repetition")  # noqa: E731
    assert reps(front) == [(3, 11), (12, 20), (22, 23)]
    assert reps(lat) == [(3, 11), (12, 20)]  # the new repetition lies past the lateral clip's last frame (21)
    assert [(p["error_type"], p["start"], p["end"]) for p in front["penalties"]] == [("knees cave", 18, 23)]
    assert [(p["error_type"], p["start"], p["end"]) for p in lat["penalties"]] == [("knees cave", 18, 21)]
    assert front["criteria"]["Knees over toes F"]["verdict"] == "unsure" and "Depth L" not in front["criteria"]
    assert lat["criteria"]["Depth L"]["verdict"] == "fail" and "Knees over toes F" not in lat["criteria"]
    assert front["scores"]["quality"]["value"] == lat["scores"]["quality"]["value"] == 45.0
    # one author and one time per take edit, on both clips; each copy has its own edit id
    logs = {v: d["_id"] for v, d in views.items()}
    entries = {v: dataset._sample_collection.find_one({"_id": oid})["gymdata_log"] for v, oid in logs.items()}
    by_take = {}
    for view, log in entries.items():
        for e in log:
            by_take.setdefault(e["take_edit"], []).append((view, e["annotator"], e["at"], e["id"]))
    shared = [v for v in by_take.values() if len(v) == 2]
    assert len(shared) == 4  # the moved repetition, the state, the penalty, the score
    for (_, a1, t1, i1), (_, a2, t2, i2) in shared:
        assert a1 == a2 == "ana" and t1 == t2 and i1 != i2
    # the take shows the current labels, right away
    shown = dataset._sample_collection.find_one({"_id": foapi._oid(take.id)})
    assert sorted(d["support"] for d in shown["repetitions"]["detections"]) == [[4, 12], [13, 21], [23, 24]]
    assert {c["label"]: c["verdict"] for c in shown["criteria"]["classifications"]} == {
        "Knees over toes F": "unsure", "Hips back L": "pass", "Depth L": "fail"}
    assert shown["score_quality"] == 45.0 and shown["annotators"] == ["ana"]

    report = pull("clips")  # nothing to change in pull: the edits are on the view clips
    assert report.by_annotator == {"ana": 11}  # 4 take edits x 2 views, the frontal-only rep, 2 criteria
    ds = store.open_dataset("clips")
    crit = ds.df("criteria", filter={"origin": "human"})
    assert sorted(zip(crit["video_id"], crit["criterion"])) == [("s0_frontal", "Knees over toes F"),
                                                                ("s0_lateral", "Depth L")]
    pens = current(ds, "penalties")
    assert sorted(zip(pens["video_id"], pens["annotator"])) == [("s0_frontal", "ana"), ("s0_lateral", "ana")]
    scores = ds.df("scores", filter={"origin": "human"})
    assert len(set(scores["created_at"])) == 1 and set(scores["video_id"]) == {"s0_frontal", "s0_lateral"}
    assert pull("clips").edits == 0


def test_a_bad_take_edit_writes_nothing_and_view_edits_refresh_the_take(fo_db, tmp_path):
    make_store(tmp_path)
    push("clips", progress=False)
    dataset = fo_db.load_dataset("clips")
    take = _by_slice(dataset, takes.TAKE_SLICE)
    before = {d["video_id"]: len(d.get("gymdata_log") or []) for d in dataset._sample_collection.find({})}
    with pytest.raises(L.EditError, match="not a criterion of this take"):
        takes.apply_edits(dataset, take.id, [L.make_edit("score", "ana", value=50),
                                             L.make_edit("criterion", "ana", name="Nope", verdict="pass")])
    with pytest.raises(L.EditError, match="outside"):
        takes.apply_edits(dataset, take.id, [L.make_edit("state", "ana", label="A", start=0, end=3),
                                             L.make_edit("score", "ana", value=500)])
    assert {d["video_id"]: len(d.get("gymdata_log") or []) for d in dataset._sample_collection.find({})} == before
    # an edit on a view clip (the panel on the lateral slice) shows on the take too
    lateral = _by_slice(dataset, "lateral")
    out = takes.apply_edits(dataset, lateral.id, [L.make_edit("criterion", "ben", name="Hips back L", verdict="fail")])
    assert out["take"] == take.id and list(out["applied"]) == [lateral.id]
    shown = dataset._sample_collection.find_one({"_id": foapi._oid(take.id)})
    assert {c["label"]: c["annotator"] for c in shown["criteria"]["classifications"]}["Hips back L"] == "ben"


def test_annotate_mode_edits_on_a_take_reach_both_views_as_the_owner(fo_db, tmp_path):
    make_store(tmp_path)
    push("clips", fo_name="clips-ana", blind_for="ana", progress=False)
    dataset = fo_db.load_dataset("clips-ana")
    take = _by_slice(dataset, takes.TAKE_SLICE)
    # what FiftyOne's Annotate mode does on the take's timeline: move one repetition, add one; no author
    take.repetitions.detections[1].support = [15, 22]
    take.repetitions.detections.append(fo_db.TemporalDetection(label="rep", support=[23, 24]))
    take.save()
    stamp = dataset._sample_collection.find_one({"_id": foapi._oid(take.id)})["last_modified_at"]
    report = pull("clips", fo_name="clips-ana")
    assert report.by_annotator == {"ana": 4}  # two edits, on two clips
    ds = store.open_dataset("clips")
    reps = current(ds, "segments", video_ids=["s0_frontal", "s0_lateral"])
    reps = reps[reps["kind"] == "repetition"]
    for vid in ("s0_frontal", "s0_lateral"):
        mine = reps[reps["video_id"] == vid]
        assert sorted(zip(mine["start_frame"], mine["end_frame"])) == [(2, 10), (14, 21), (22, 23)]
        assert set(mine["annotator"]) == {"ana"}
    human = ds.df("segments", filter={"origin": "human"})
    assert {t.replace(tzinfo=None) for t in human["created_at"]} == {stamp.replace(microsecond=stamp.microsecond)}
    assert pull("clips", fo_name="clips-ana").edits == 0
    again = _by_slice(fo_db.load_dataset("clips-ana"), takes.TAKE_SLICE)
    assert sorted(d.support for d in again.repetitions.detections) == [[3, 11], [15, 22], [23, 24]]
