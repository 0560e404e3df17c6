"""Adjudication: two annotators' labels side by side, disagreements first; a reviewer's pick is
recorded in the reviewer's name, never in a rater's."""

from __future__ import annotations

import json

import pytest

from annotators import adjudicate, foapi, takes
from annotators import labels as L
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from gymdata.labels import current
from tests.conftest import run_cli
from tests.fo_support import fo_db, make_store, mongod  # noqa: F401 (fixtures)


def _sample(dataset, vid: str):
    return dataset.select_group_slices(["frontal", "lateral"]).match({"video_id": vid}).first()


def _label(fo_db, who: str, edits_by_clip: dict) -> None:
    push("clips", fo_name=f"clips-{who}", blind_for=who, progress=False)
    dataset = fo_db.load_dataset(f"clips-{who}")
    for vid, edits in edits_by_clip.items():
        foapi.apply_edits(dataset, _sample(dataset, vid).id, [L.make_edit(op, who, **kw) for op, kw in edits])
    pull("clips", fo_name=f"clips-{who}")


def test_adjudication_shows_both_raters_and_records_picks_as_the_reviewer(fo_db, tmp_path):
    make_store(tmp_path)
    _label(fo_db, "ana", {"s0_lateral": [("criterion", {"name": "Depth L", "verdict": "fail"}),
                                         ("score", {"value": 40}),
                                         ("segment", {"kind": "repetition", "label": "rep", "start": 0, "end": 8})],
                          "s1_frontal": [("criterion", {"name": "Knees over toes F", "verdict": "pass"})]})
    _label(fo_db, "ben", {"s0_lateral": [("criterion", {"name": "Depth L", "verdict": "pass"}),
                                         ("score", {"value": 70}),
                                         ("state", {"label": "R", "start": 0, "end": 3})],
                          "s1_frontal": [("criterion", {"name": "Knees over toes F", "verdict": "pass"})]})
    code, out, err = run_cli("adjudicate", "clips", "--raters", "ana", "ben", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["fo_name"] == "clips-adjudicate-ana-ben" and report["clips_disagreeing"] == 1
    assert report["top"][0]["video_id"] == "s0_lateral"
    # ana's repetitions (her edit snapshots the set) against none of ben's; ben's states against none of ana's
    assert report["top"][0]["keys"] == ["criterion:Depth L", "repetition", "score:quality", "state"]
    dataset = fo_db.load_dataset("clips-adjudicate-ana-ben")
    table = adjudicate.disagreement_table(dataset)
    assert table["video_id"].tolist()[0] == "s0_lateral" and table["disagreements"].tolist()[0] == 4
    s = _sample(dataset, "s0_lateral")
    assert {c.label: c.verdict for c in s.criteria_ana.classifications}["Depth L"] == "fail"
    assert {c.label: c.verdict for c in s.criteria_ben.classifications}["Depth L"] == "pass"
    assert (s.score_quality_ana, s.score_quality_ben) == (40.0, 70.0)
    assert sorted(d.support for d in s.repetitions_ana.detections) == [[1, 9], [3, 11], [13, 21]]
    assert s.repetitions_ben.detections == []  # ben left the corpus's repetitions as they were: none of his own
    assert [d.label for d in s.states_ben.detections][:1] == ["R"]
    assert dataset.has_saved_view(adjudicate.VIEW_NAME)
    first = dataset.load_saved_view(adjudicate.VIEW_NAME).first()  # takes (the default slice), most first
    assert (first.recording, first.disagreements) == ("take0", 4)
    take = dataset.select_group_slices(takes.TAKE_SLICE).match({"recording": "take0"}).first()
    assert take.disagreements == 4 and take.repetitions_ana is not None
    assert adjudicate.pick_choices(dataset, s.id)[:4] == report["top"][0]["keys"]

    # the reviewer picks: ben's verdict, ana's repetitions (on the take, the key names its view)
    with pytest.raises(adjudicate.AdjudicationError, match="is one of the raters"):
        adjudicate.pick(dataset, s.id, "criterion:Depth L", "ben", "ana")
    adjudicate.pick(dataset, s.id, "criterion:Depth L", "ben", "rev")
    adjudicate.pick(dataset, take.id, "lateral/repetition", "ana", "rev")
    from fiftyone.operators import execute_operator

    from annotators.app import install_plugin

    install_plugin(tmp_path / "plugins")  # the App's operator, run headlessly: the same pick
    result = execute_operator("@gymdata/annotate/adjudicate_pick", ctx={
        "dataset": dataset, "current_sample": s.id,
        "params": {"key": "score:quality", "rater": "ana", "reviewer": "rev"}})
    assert result.error is None and result.result == {"applied": 1}
    report = pull("clips", fo_name="clips-adjudicate-ana-ben")
    assert set(report.by_annotator) == {"rev"}
    ds = store.open_dataset("clips")
    crit = current(ds, "criteria", video_ids=["s0_lateral"])
    assert crit.set_index("criterion").loc["Depth L", ["passed", "annotator"]].tolist() == [True, "rev"]
    reps = current(ds, "segments", video_ids=["s0_lateral"])
    reps = reps[reps["kind"] == "repetition"]
    assert sorted(zip(reps["start_frame"], reps["end_frame"])) == [(0, 8), (2, 10), (12, 20)]
    assert set(reps["annotator"]) == {"rev"}
    score = current(ds, "scores", video_ids=["s0_lateral"])
    assert score[["value", "annotator"]].values.tolist() == [[40.0, "rev"]]
    for table in ("criteria", "scores", "segments"):  # nothing new in a rater's name
        rows = ds.df(table, filter={"origin": "human"})
        assert len(rows[rows["annotator"] == "ana"]) and set(rows["annotator"]) <= {"ana", "ben", "rev"}
    picks = dataset._sample_collection.find_one({"_id": foapi._oid(s.id)})["adjudication"]["picks"]
    assert [(p["key"], p["rater"], p["reviewer"]) for p in picks] == [
        ("criterion:Depth L", "ben", "rev"), ("repetition", "ana", "rev"), ("score:quality", "ana", "rev")]


def test_adjudicate_refuses_bad_raters_with_one_line(fo_db, tmp_path):
    make_store(tmp_path)
    code, _, err = run_cli("adjudicate", "clips", "--raters", "ana", "ana")
    assert code == 2 and "two different raters" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("adjudicate", "clips", "--raters", "ana", "zoe")
    assert code == 2 and "'ana' has no label in 'clips'" in err
