"""FiftyOne push / pull and the labelling operators, run headlessly on an isolated database.

Each test gets its own database on a test ``mongod`` (tests/fo_support.py) and its own store.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annotators import foapi
from annotators import labels as L
from annotators.history import LEDGER, current_labels, read_ledger
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from gymdata.errors import DatasetNotFoundError, ValidationError
from gymdata.media import probe_video
from tests.conftest import run_cli
from tests.fo_support import CRITERIA, NUM_FRAMES, fo_db, make_store, mongod  # noqa: F401 (fixtures)

OP = "@gymdata/annotate/"


@pytest.fixture
def plugin(fo_db, tmp_path):
    """The labelling plugin installed into a plugins folder of this test."""
    from annotators.app import install_plugin

    install_plugin(tmp_path / "plugins")
    return fo_db


@pytest.fixture
def pushed(plugin, tmp_path):
    """Store dataset 'clips' pushed to FiftyOne: (store dataset, FiftyOne dataset)."""
    ds = make_store(tmp_path)
    push("clips", progress=False)
    return ds, plugin.load_dataset("clips")


def sample_of(dataset, video_id: str):
    return dataset.select_group_slices().match({"video_id": video_id}).first()


def run_op(dataset, name: str, sample, **params):
    """Execute an operator headlessly on one sample, raising its error if it fails."""
    from fiftyone.operators import execute_operator

    return execute_operator(OP + name, ctx={"dataset": dataset, "current_sample": sample.id, "params": params})


# -- push -----------------------------------------------------------------------------------------


def test_push_builds_groups_media_and_labels(pushed):
    import fiftyone as fo

    ds, dataset = pushed
    assert dataset.media_type == "group" and sorted(dataset.group_slices) == ["frontal", "lateral", "take"]
    assert len(dataset) == 2 and len(dataset.select_group_slices(["frontal", "lateral"])) == 4  # two takes x two views
    takes = {frozenset(s.video_id for s in dataset.get_group(gid).values() if s.video_id)
             for gid in dataset.distinct("group.id")}
    assert takes == {frozenset({"s0_frontal", "s0_lateral"}), frozenset({"s1_frontal", "s1_lateral"})}

    s = sample_of(dataset, "s0_lateral")
    # push writes the metadata itself (no ffprobe); it must describe the file the App plays
    probed = probe_video(s.filepath, exact=True)  # PyAV, independent of the store's rows
    assert (s.metadata.frame_width, s.metadata.frame_height) == (probed.width, probed.height)
    assert s.metadata.total_frame_count == probed.num_frames
    assert s.metadata.frame_rate == pytest.approx(probed.fps)
    assert s.metadata.size_bytes == Path(s.filepath).stat().st_size and s.metadata.mime_type == "video/mp4"
    if shutil.which("ffprobe"):  # and what FiftyOne would compute, where its ffprobe is installed
        computed = fo.VideoMetadata.build_for(s.filepath)
        for key in ("frame_width", "frame_height", "total_frame_count", "size_bytes", "mime_type"):
            assert s.metadata[key] == computed[key], key
        assert s.metadata.frame_rate == pytest.approx(computed.frame_rate)

    crit = {c.label: c for c in s.criteria.classifications}
    assert set(crit) == set(CRITERIA["lateral"])
    assert crit["Depth L"].verdict == "pass" and crit["Depth L"].passed is True
    assert crit["Depth L"].origin == "imported" and crit["Depth L"].annotator == "test:1"
    assert s.score_quality == 60.0
    assert [d.support for d in s.repetitions.detections] == [[3, 11], [13, 21]]  # 1-based in FiftyOne
    assert s.rep_count == 2

    frames = s.frames
    assert len(frames) == NUM_FRAMES
    assert frames[4].pose is None  # frame 3 (0-based) had no person
    kp = frames[1].pose.keypoints[0]
    lm = ds.df("poses", filter={"video_id": "s0_lateral", "frame": 0})["landmarks"][0]
    assert np.allclose(kp.points, np.asarray(lm).reshape(33, 4)[:, :2])
    assert [f for f in range(1, NUM_FRAMES + 1) if frames[f].state is not None] == list(range(5, 10))
    assert frames[5].state.label == "A"
    assert dataset.skeletons["pose"].labels[11] == "left_shoulder"
    info = dataset.info["gymdata"]
    assert info["store"] == "clips" and [c["name"] for c in info["criteria"]["squat"]] == [
        "Knees over toes F", "Hips back L", "Depth L"]


def test_push_encodes_frame_folders_once(fo_db, tmp_path):
    import cv2

    folder = tmp_path / "media" / "rep1"
    folder.mkdir(parents=True)
    for i in range(9):
        img = np.full((40, 50, 3), 30 * (i % 8), np.uint8)  # odd-free size 50x40
        cv2.imwrite(str(folder / f"img_{i + 1}.jpg"), img)
    with store.building("frames") as ds:
        with ds.transaction() as txn:
            txn.write("videos", [{"video_id": "r1", "corpus": "alex", "path": "rep1/img_*.jpg", "media_kind": "frames",
                                  "exercise": "lunge", "fps": 10.0, "num_frames": 9, "width": 50, "height": 40,
                                  "duration": 0.9, "view": "frontal", "extras": "{}"}])
            txn.set_source("alex", root=str(tmp_path / "media"), importer="test", version="1")
    first = push("frames", progress=False, workers=1)
    assert first.encoded == 1 and first.added == 1
    s = fo_db.load_dataset("frames").select_group_slices().first()
    from gymdata.media import probe_video

    info = probe_video(s.filepath)
    assert info.codec == "h264" and info.num_frames == 9 and s.filepath.startswith(str(store.home() / "cache" / "mp4"))
    assert s.source_path.endswith("rep1/img_*.jpg")
    again = push("frames", progress=False, workers=1)
    assert again.encoded == 0 and again.added == 0 and again.updated == 1 and again.frames_written == 0


def test_push_offers_criteria_of_another_dataset(fo_db, tmp_path):
    make_store(tmp_path, "whole", takes=1, with_labels=False)  # whole takes: no criteria of their own
    make_store(tmp_path, "reps", takes=1)
    push("whole", criteria_from=["reps"], progress=False)
    dataset = fo_db.load_dataset("whole")
    assert foapi.exercise_criteria(dataset, "squat", "lateral") == ["Hips back L", "Depth L"]
    s = sample_of(dataset, "s0_lateral")
    foapi.apply_edits(dataset, s.id, [L.make_edit("criterion", "ana", name="Depth L", verdict="pass")])
    s.reload()
    assert [(c.label, c.verdict) for c in s.criteria.classifications] == [("Depth L", "pass")]


def test_push_refuses_an_invalid_store(fo_db, tmp_path):
    ds = make_store(tmp_path, with_labels=False)
    ds.append("scores", [{"video_id": "s0_frontal", "name": "quality", "value": 140.0, "scale_min": 0.0,
                          "scale_max": 100.0, "origin": "imported"}])
    with pytest.raises(ValidationError, match="scores.value: outside its scale"):
        push("clips", progress=False)
    assert not fo_db.dataset_exists("clips")
    code, _, err = run_cli("fiftyone", "push", "clips", "--quiet")
    assert code == 1 and err.startswith("error: dataset 'clips' failed validation") and len(err.splitlines()) == 1


def test_push_again_updates_in_place_and_keeps_edits(pushed):
    ds, dataset = pushed
    s = sample_of(dataset, "s1_frontal")
    run_op(dataset, "set_criterion", s, criterion="Knees over toes F", verdict="fail", annotator="ana")
    ds.append("scores", [{"video_id": "s1_frontal", "name": "quality", "value": 75.0, "scale_min": 0.0,
                          "scale_max": 100.0, "origin": "imported", "annotator": "test:2",
                          "created_at": store.now()}])
    report = push("clips", progress=False)
    assert report.added == 0 and report.updated == 4 and report.frames_written == 0  # poses unchanged
    again = sample_of(dataset, "s1_frontal")
    assert again.id == s.id and again.score_quality == 75.0
    assert again.criteria.classifications[0].verdict == "fail"  # the unpulled edit survives the push
    assert again.criteria.classifications[0].annotator == "ana"


# -- operators --------------------------------------------------------------------------------------


def test_operators_record_every_edit_with_annotator(pushed):
    ds, dataset = pushed
    s = sample_of(dataset, "s0_lateral")
    run_op(dataset, "set_criterion", s, criterion="Depth L", verdict="fail", annotator="ana")
    run_op(dataset, "set_criterion", s, criterion="Hips back L", verdict="unsure", annotator="ana")
    run_op(dataset, "set_score", s, score=42.5, annotator="ana")
    run_op(dataset, "add_repetition", s, start_frame=0, end_frame=1, annotator="ben")
    s.reload()
    first = s.repetitions.detections[0]
    run_op(dataset, "edit_repetition", s, segment=first.segment_id, start_frame=1, end_frame=2, annotator="ben")
    s.reload()
    second = s.repetitions.detections[-1]
    run_op(dataset, "delete_repetition", s, segment=second.segment_id, annotator="ben")
    run_op(dataset, "mark_state", s, state="R", start_frame=0, end_frame=5, annotator="ben")
    run_op(dataset, "add_penalty", s, error_type="knees cave", keystep="descent", points=2, feedback="push knees out",
           annotator="ana")
    s.reload()
    crit = {c.label: c for c in s.criteria.classifications}
    assert (crit["Depth L"].verdict, crit["Depth L"].passed, crit["Depth L"].annotator) == ("fail", False, "ana")
    assert crit["Hips back L"].passed is None and crit["Hips back L"].origin == "human"
    assert crit["Depth L"].edited_at is not None
    assert s.score_quality == 42.5
    assert [d.support for d in s.repetitions.detections] == [[2, 3], [3, 11]]
    assert s.rep_count == 2 and s.annotators == ["ana", "ben"]
    assert s.penalties[0]["error_type"] == "knees cave" and s.penalty_points == 2.0
    states = {f: s.frames[f].state.label if s.frames[f].state else None for f in range(1, 12)}
    assert states == {1: "R", 2: "R", 3: "R", 4: "R", 5: "R", 6: "R", 7: "A", 8: "A", 9: "A", 10: None, 11: None}
    assert s.frames[3].state.annotator == "ben"
    log = s.gymdata_log
    assert [e["op"] for e in log] == ["criterion", "criterion", "score", "segment", "segment", "segment_delete",
                                      "state", "penalty"]
    assert all(e["annotator"] in ("ana", "ben") and L.parse_time(e["at"]) for e in log)
    assert len({e["id"] for e in log}) == len(log)


def test_operator_errors_are_clear(pushed):
    from fiftyone.operators.executor import ExecutionError

    _, dataset = pushed
    s = sample_of(dataset, "s0_frontal")
    with pytest.raises(ExecutionError, match="score 140 is outside 0-100"):
        run_op(dataset, "set_score", s, score=140, annotator="ana")
    with pytest.raises(ExecutionError, match="frame 99 is past the clip's last frame"):
        run_op(dataset, "add_repetition", s, start_frame=5, end_frame=99, annotator="ana")
    # the forms offer only this exercise's criteria and the three verdicts
    with pytest.raises(ExecutionError, match="Path: criterion. Reason: Invalid enum value"):
        run_op(dataset, "set_criterion", s, criterion="Depth L?", verdict="pass", annotator="ana")
    with pytest.raises(ExecutionError, match="Path: verdict. Reason: Invalid enum value"):
        run_op(dataset, "set_criterion", s, criterion="Knees over toes F", verdict="maybe", annotator="ana")
    # the same checks guard every other way in (the panel, scripts)
    with pytest.raises(L.EditError, match="'Depth L\\?' is not a criterion of this clip's exercise"):
        foapi.apply_edits(dataset, s.id, [L.make_edit("criterion", "ana", name="Depth L?", verdict="pass")])
    with pytest.raises(L.EditError, match="verdict 'maybe' is not one of pass, fail, unsure"):
        foapi.apply_edits(dataset, s.id, [L.make_edit("criterion", "ana", name="Knees over toes F", verdict="maybe")])
    s.reload()
    assert s.gymdata_log == [] and s.score_quality == 60.0  # nothing half-applied


def test_repeated_click_is_recorded_once(pushed):
    _, dataset = pushed
    s = sample_of(dataset, "s0_frontal")
    for _ in range(2):
        run_op(dataset, "set_criterion", s, criterion="Knees over toes F", verdict="fail", annotator="ana")
        run_op(dataset, "add_repetition", s, start_frame=21, end_frame=23, annotator="ana")
    run_op(dataset, "set_criterion", s, criterion="Knees over toes F", verdict="fail", annotator="ben")  # agrees
    s.reload()
    assert [(e["op"], e["annotator"]) for e in s.gymdata_log] == [("criterion", "ana"), ("segment", "ana"),
                                                                  ("criterion", "ben")]


def test_penalties_come_from_the_knowledge_graph(pushed):
    from fiftyone.operators.executor import ExecutionError

    ds, dataset = pushed
    graph = {"format": "gymdata.flex-knowledge-graph", "version": 1, "actions": [{
        "id": "squat", "exercise": "squat", "name": "Squat",
        "keysteps": [{"id": "K1", "name": "descent"}, {"id": "K2", "name": "ascent"}],
        "error_types": [{"id": "E1", "name": "knees cave", "keystep": "K1", "points": 1.5, "feedback": "knees out"},
                        {"id": "E2", "name": "heels lift", "keystep": "K2", "points": 1.0}]}]}
    with ds.transaction() as txn:
        txn.put_attachment("knowledge_graph.json", graph)
    push("clips", progress=False)
    s = sample_of(dataset, "s0_frontal")
    run_op(dataset, "add_penalty", s, keystep="K1", error_type="E1", start_frame=2, end_frame=6, annotator="ana")
    with pytest.raises(ExecutionError, match="Path: error_type. Reason: Invalid enum value"):
        run_op(dataset, "add_penalty", s, keystep="K1", error_type="E9", annotator="ana")
    with pytest.raises(ExecutionError, match="Path: error_type"):  # E2 belongs to keystep K2
        run_op(dataset, "add_penalty", s, keystep="K1", error_type="E2", annotator="ana")
    s.reload()
    assert s.penalties == [{**s.penalties[0], "keystep": "K1", "error_type": "E1", "points": 1.5,
                            "feedback": "knees out", "start": 2, "end": 6}]
    pid = s.penalties[0]["id"]
    run_op(dataset, "delete_penalty", s, penalty=pid, annotator="ana")
    s.reload()
    assert s.penalties == [] and s.penalty_points is None


def test_suggestions_need_a_counter(pushed, monkeypatch):
    from fiftyone.operators.executor import ExecutionError

    _, dataset = pushed
    s = sample_of(dataset, "s0_frontal")
    monkeypatch.setitem(sys.modules, "baselines.counting", None)  # as if baselines were not installed
    with pytest.raises(ExecutionError, match="no repetition counter installed"):
        run_op(dataset, "suggest", s)


def test_suggestions_can_be_accepted_and_corrected(pushed):
    pytest.importorskip("baselines.counting")
    _, dataset = pushed
    s = sample_of(dataset, "s1_lateral")  # the fixture squats every 12 frames: 2 repetitions in 24 frames
    sug = run_op(dataset, "suggest", s).result
    s.reload()
    assert sug["count"] == 2 and s.suggestion["reps"] == sug["reps"]
    assert [d.origin for d in s.suggested_repetitions.detections] == ["model", "model"]
    assert s.frames[1].suggested_state.label in ("A", "R")
    assert [d.support for d in s.repetitions.detections] == [[3, 11], [13, 21]]  # not labels until accepted
    run_op(dataset, "accept_suggestions", s, annotator="ana")
    s.reload()
    assert [d.support for d in s.repetitions.detections] == [[a + 1, b + 1] for a, b in sug["reps"]]
    assert all(d.origin == "human" and d.annotator == "ana" for d in s.repetitions.detections)
    assert {e["source"] for e in s.gymdata_log} == {f"suggestion:{sug['counter']}"}
    s = sample_of(dataset, "s1_lateral")  # a fresh copy: reload() keeps frames already read
    states = [(f, s.frames[f].state.label) for f in (1, 6, 12)]
    assert states == [(f, s.frames[f].suggested_state.label) for f in (1, 6, 12)]
    first = s.repetitions.detections[0]  # correct the first one
    run_op(dataset, "edit_repetition", s, segment=first.segment_id, start_frame=first.support[0] - 1,
           end_frame=first.support[1], annotator="ben")  # support is FiftyOne's, 1-based; params the player's
    s.reload()
    assert s.repetitions.detections[0].support == [first.support[0], first.support[1] + 1]
    assert s.repetitions.detections[0].annotator == "ben"


# -- pull -----------------------------------------------------------------------------------------


def test_pull_appends_human_history_and_is_idempotent(pushed):
    ds, dataset = pushed
    s = sample_of(dataset, "s0_lateral")
    run_op(dataset, "set_criterion", s, criterion="Depth L", verdict="fail", annotator="ana")
    run_op(dataset, "set_criterion", s, criterion="Depth L", verdict="pass", annotator="ben")
    run_op(dataset, "set_score", s, score=55, annotator="ana")
    s.reload()
    reps = [d.segment_id for d in s.repetitions.detections]
    for seg in reps:
        run_op(dataset, "delete_repetition", s, segment=seg, annotator="ben")
    run_op(dataset, "mark_state", s, state="none", start_frame=0, end_frame=NUM_FRAMES - 1, annotator="ben")
    before = {t: ds.count(t) for t in ("criteria", "scores", "segments")}
    report = pull("clips")
    assert report.edits == 6 and report.by_annotator == {"ana": 2, "ben": 4}
    ds.reload()
    crit = ds.df("criteria", filter={"origin": "human"})
    assert list(zip(crit["annotator"], crit["passed"])) == [("ana", False), ("ben", True)]
    assert ds.count("criteria") == before["criteria"] + 2 and ds.count("scores") == before["scores"] + 1
    seg = ds.df("segments", filter={"origin": "human"})
    assert list(seg["start_frame"]) == [12] and set(seg["annotator"]) == {"ben"}  # after the 1st delete: 1 left
    assert (crit["created_at"].dt.tz is not None) and crit["created_at"].is_monotonic_increasing

    cur = current_labels(ds, "criteria", video_ids=["s0_lateral"]).set_index("criterion")
    assert cur.loc["Depth L", "annotator"] == "ben" and cur.loc["Hips back L", "origin"] == "imported"
    before_ben = crit["created_at"].iloc[1] - pd.Timedelta(microseconds=1)  # the labels as they stood then
    then = current_labels(ds, "criteria", video_ids=["s0_lateral"], as_of=before_ben).set_index("criterion")
    assert then.loc["Depth L", "annotator"] == "ana" and bool(then.loc["Depth L", "passed"]) is False
    assert current_labels(ds, "scores", video_ids=["s0_lateral"])["value"].tolist() == [55.0]
    cur_seg = current_labels(ds, "segments", video_ids=["s0_lateral"])
    assert cur_seg.empty  # every repetition deleted, the state cleared: only the ledger records it
    assert len(current_labels(ds, "segments", video_ids=["s0_frontal"])) == 3  # untouched clip: imported rows
    ledger = read_ledger(ds)
    assert [e["rows"] for e in ledger if e["table"] == "segments"] == [1, 0, 0]

    stamp = (ds.path / "dataset.json").read_bytes()
    again = pull("clips")
    assert again.edits == 0 and again.already == 6
    assert (ds.path / "dataset.json").read_bytes() == stamp and len(read_ledger(ds)) == 6

    # a pull cut short after its commit, before the ledger: the rows are recognised, not doubled
    ds.attachment(LEDGER).unlink()
    redo = pull("clips")
    ds.reload()
    assert redo.edits == 6 and sum(redo.rows.values()) == 0 and ds.count("criteria") == before["criteria"] + 2

    # re-push after the pull: the store's labels become the base, nothing is applied twice
    push("clips", progress=False)
    s.reload()
    assert s.rep_count == 0 and s.gymdata_base_len == 6 and s.score_quality == 55.0
    run_op(dataset, "add_repetition", s, start_frame=3, end_frame=8, annotator="ana")
    assert pull("clips").edits == 1
    assert current_labels(ds.reload(), "segments", video_ids=["s0_lateral"])["start_frame"].tolist() == [3]


def test_pull_bad_inputs_are_clear(fo_db, tmp_path):
    make_store(tmp_path, with_labels=False)
    with pytest.raises(DatasetNotFoundError, match="no FiftyOne dataset named 'ghost'.*push it first"):
        pull("clips", fo_name="ghost")
    code, _, err = run_cli("fiftyone", "pull", "nosuch")
    assert code == 1 and err.startswith("error: no dataset named 'nosuch'") and len(err.splitlines()) == 1
    code, _, err = run_cli("fiftyone", "pull", "clips")
    assert code == 1 and "no FiftyOne dataset named 'clips'" in err and "gymdata fiftyone push clips" in err


def test_cli_push_and_pull_roundtrip(plugin, tmp_path):
    make_store(tmp_path)
    code, out, err = run_cli("fiftyone", "push", "clips", "--fo-name", "clips-ana", "--quiet")
    assert code == 0, err
    assert "4 clip(s) added" in out
    dataset = plugin.load_dataset("clips-ana")
    run_op(dataset, "set_score", sample_of(dataset, "s0_frontal"), score=12, annotator="ana")
    code, out, err = run_cli("fiftyone", "pull", "clips", "--fo-name", "clips-ana")
    assert code == 0 and "pulled 1 edit(s)" in out and "(by ana 1)" in out
    ledger = json.loads(store.open_dataset("clips").attachment(LEDGER).read_text())
    assert ledger["edits"][0]["fo_dataset"] == "clips-ana"


def test_plugin_is_installed_and_registered(plugin, tmp_path):
    import fiftyone.operators as foo
    import fiftyone.plugins as fop

    link = tmp_path / "plugins" / "gymdata-annotate"
    assert link.is_symlink() and (link / "fiftyone.yml").is_file()
    assert "@gymdata/annotate" in [p.name for p in fop.list_plugins()]
    uris = {op.uri for op in foo.list_operators()}
    for name in ("set_criterion", "set_score", "add_repetition", "edit_repetition", "delete_repetition", "mark_state",
                 "add_penalty", "delete_penalty", "suggest", "accept_suggestions", "gym_labels"):
        assert OP + name in uris, name
    from annotators.app import install_plugin

    assert install_plugin(tmp_path / "plugins") == link
