"""Teams: blind double labelling (each annotator's own FiftyOne dataset shows the corpus's labels and
their own, never a colleague's), honest attribution through pulls, ``gymdata app``'s first push.
"""

from __future__ import annotations

import pytest

from annotators import foapi
from annotators import labels as L
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from gymdata.errors import GymdataError
from gymdata.labels import current
from tests.conftest import run_cli
from tests.fo_support import fo_db, make_store, mongod  # noqa: F401 (fixtures)


def _sample(dataset, vid: str):
    return dataset.select_group_slices().match({"video_id": vid}).first()


def _edit(dataset, vid: str, *edits):
    return foapi.apply_edits(dataset, _sample(dataset, vid).id, list(edits))


def test_blind_copies_show_no_other_annotators_labels_and_pulls_keep_authors(fo_db, tmp_path):
    make_store(tmp_path)
    push("clips", fo_name="clips-ana", blind_for="ana", progress=False)
    ana = fo_db.load_dataset("clips-ana")
    _edit(ana, "s0_lateral", L.make_edit("criterion", "ana", name="Depth L", verdict="fail"),
          L.make_edit("penalty", "ana", error_type="knees cave", points=2),
          L.make_edit("score", "ana", value=40))
    assert pull("clips", fo_name="clips-ana").by_annotator == {"ana": 3}

    push("clips", fo_name="clips-ben", blind_for="ben", progress=False)
    ben = fo_db.load_dataset("clips-ben")
    s = _sample(ben, "s0_lateral")
    # ben sees the corpus's labels, none of ana's
    assert {c.label: (c.verdict, c.origin) for c in s.criteria.classifications} == {
        "Depth L": ("pass", "imported"), "Hips back L": ("pass", "imported")}
    assert s.score_quality == 60.0 and s.penalties == [] and s.annotators == []
    _edit(ben, "s0_lateral", L.make_edit("penalty", "ben", error_type="heels lift", points=1),
          L.make_edit("criterion", "ben", name="Hips back L", verdict="unsure"))
    assert pull("clips", fo_name="clips-ben").by_annotator == {"ben": 2}

    ds = store.open_dataset("clips")
    pens = current(ds, "penalties", per_rater=True)
    assert sorted(zip(pens["rater"], pens["error_type"])) == [("ana", "knees cave"), ("ben", "heels lift")]
    crit = current(ds, "criteria", per_rater=True)
    human = crit[crit["rater"].isin(["ana", "ben"])]
    assert sorted(zip(human["rater"], human["criterion"])) == [("ana", "Depth L"), ("ben", "Hips back L")]

    # pushing ana's copy again keeps it blind: ben's labels never appear there
    push("clips", fo_name="clips-ana", progress=False)
    s = _sample(fo_db.load_dataset("clips-ana"), "s0_lateral")
    assert [p["error_type"] for p in s.penalties] == ["knees cave"]
    assert {c.label: c.annotator for c in s.criteria.classifications} == {"Depth L": "ana", "Hips back L": "test:1"}
    with pytest.raises(GymdataError, match="'clips-ana' is the blind copy of 'ana', not of 'ben'"):
        push("clips", fo_name="clips-ana", blind_for="ben", progress=False)


def test_app_first_push_is_blind_for_its_annotator_and_takes_criteria_from(fo_db, tmp_path, monkeypatch):
    make_store(tmp_path, "whole", takes=1, with_labels=False)
    make_store(tmp_path, "reps", takes=1)
    push("whole", progress=False)
    ana = fo_db.load_dataset("whole")
    served = []

    class Server:  # an App server that stops at once
        def wait(self):
            return 0

    import annotators.app as app_module

    # serve nothing, and stop nothing: the App's children here would be the test's own mongod
    monkeypatch.setattr(app_module, "_stop_children", lambda: None)
    monkeypatch.setattr(app_module.signal, "signal", lambda *args: None)
    monkeypatch.setattr(app_module, "_serve", lambda address, port: served.append(port) or Server())
    code, out, err = run_cli("app", "whole", "--fo-name", "whole-ben", "--annotator", "ben", "--criteria-from", "reps",
                             "--plugins-dir", str(tmp_path / "plugins"))
    assert code == 0, err
    assert served == [5151] and "/datasets/whole-ben " in out and "blind: ben's own" in out
    ben = fo_db.load_dataset("whole-ben")
    assert foapi.gymdata_info(ben)["blind_for"] == "ben"
    assert foapi.exercise_criteria(ben, "squat", "lateral") == ["Hips back L", "Depth L"]
    assert foapi.gymdata_info(ana).get("blind_for") is None


def test_app_refuses_a_port_in_use_instead_of_joining_the_app_there(fo_db, tmp_path, monkeypatch):
    """fo.launch_app would quietly join an App already serving the port (another annotator's server,
    which stamps edits with its own annotator): gymdata app says the port is taken and exits."""
    import socket

    import annotators.app as app_module

    make_store(tmp_path, takes=1)
    push("clips", progress=False, make_takes=False)
    monkeypatch.setattr(app_module, "_stop_children", lambda: None)  # the test's mongod is a child
    monkeypatch.setattr(app_module.signal, "signal", lambda *args: None)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        code, out, err = run_cli("app", "clips", "--port", str(port), "--plugins-dir", str(tmp_path / "plugins"))
    assert code != 0 and "App on" not in out
    assert f"127.0.0.1:{port}" in err and "--port" in err and len(err.strip().splitlines()) == 1, err


def test_an_edit_in_fiftyones_annotate_mode_is_pulled_with_its_annotator(fo_db, tmp_path):
    make_store(tmp_path)
    push("clips", fo_name="clips-ana", blind_for="ana", progress=False)
    dataset = fo_db.load_dataset("clips-ana")
    assert set(foapi.ANNOTATE_FIELDS) <= set(dataset.active_label_schemas)  # the timeline can edit them
    # what Annotate mode does: write the field itself, no author, no gymdata log entry
    s = _sample(dataset, "s1_frontal")
    first = s.repetitions.detections[0]
    first.support = [first.support[0] + 2, first.support[1] + 3]  # dragged on the timeline
    s.repetitions.detections.append(fo_db.TemporalDetection(label="rep", support=[22, 24]))  # "new" at the playhead
    s.save()
    # a later labelling edit through gymdata must not undo it
    _edit(dataset, "s1_frontal", L.make_edit("score", "ana", value=71))
    s = _sample(dataset, "s1_frontal")
    assert sorted(d.support for d in s.repetitions.detections) == [[5, 14], [13, 21], [22, 24]]
    report = pull("clips", fo_name="clips-ana")
    assert report.by_annotator == {"ana": 3}  # moved, added, and the score
    reps = current(store.open_dataset("clips"), "segments", video_ids=["s1_frontal"])
    reps = reps[reps["kind"] == "repetition"]
    assert sorted(zip(reps["start_frame"], reps["end_frame"], reps["annotator"])) == [
        (4, 13, "ana"), (12, 20, "ana"), (21, 23, "ana")]
    assert pull("clips", fo_name="clips-ana").edits == 0  # adopted once
