"""Inter-annotator agreement: the measures against published values, and ``gymdata agreement``."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from annotators.agreement import agreement, cohen_kappa, fleiss_kappa, icc_2_1, segment_iou, temporal_iou
from annotators.history import LEDGER
from gymdata import store
from gymdata.errors import InputError
from tests.conftest import run_cli


def test_icc_matches_shrout_and_fleiss():
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; ICC(2,1) = 0.29
    x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    assert icc_2_1(x) == pytest.approx(0.2898, abs=1e-3)
    assert icc_2_1(np.c_[x[:, 0], x[:, 0]]) == pytest.approx(1.0)
    assert math.isnan(icc_2_1(np.ones((4, 2))))  # no variation between clips: undefined


def test_fleiss_kappa_matches_the_textbook_example():
    # Fleiss (1971) as tabulated on Wikipedia: 10 subjects, 14 raters, 5 categories; kappa = 0.210
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
              [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    ratings = np.array([[c for c, n in enumerate(row) for _ in range(n)] for row in counts])
    assert fleiss_kappa(ratings) == pytest.approx(0.210, abs=5e-4)


def test_cohen_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    a = rng.choice(["pass", "fail", "unsure"], 40)
    b = np.where(rng.random(40) < 0.7, a, rng.choice(["pass", "fail", "unsure"], 40))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa(["pass"] * 5, ["pass"] * 5))


def test_cohen_kappa_matches_the_textbook_example():
    # Cohen's kappa as tabulated on Wikipedia: 50 items, yes/yes 20, yes/no 5, no/yes 10, no/no 15;
    # p_o = 0.7, p_e = 0.5, kappa = 0.4
    pairs = [(True, True)] * 20 + [(True, False)] * 5 + [(False, True)] * 10 + [(False, False)] * 15
    a, b = zip(*pairs)
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_segment_iou_matches_repetitions_one_to_one():
    assert temporal_iou((0, 9), (5, 14)) == pytest.approx(5 / 15)
    assert segment_iou([(0, 9), (10, 19)], [(10, 19), (0, 9)]) == 1.0
    assert segment_iou([(0, 9), (10, 19)], [(0, 9)]) == pytest.approx(0.5)  # a missed repetition counts 0
    assert segment_iou([(0, 9)], [(0, 4), (5, 9)]) == pytest.approx(0.5 / 2)
    assert segment_iou([], []) == 1.0 and segment_iou([(1, 2)], []) == 0.0


def _labelled_store() -> store.Dataset:
    """Six clips labelled by ana and ben (who disagree on one verdict), plus the corpus's labels."""
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    videos, crit, scores, segs = [], [], [], []
    verdict = {"ana": [True, True, False, False, True, None], "ben": [True, True, False, True, True, None]}
    score = {"ana": [80, 60, 40, 90, 70, 50], "ben": [78, 65, 35, 88, 72, 55]}
    reps = {"ana": [(0, 9), (10, 19)], "ben": [(1, 9), (10, 20)]}
    for c in range(6):
        vid = f"v{c}"
        videos.append({"video_id": vid, "corpus": "t", "path": f"{vid}.mp4", "media_kind": "video",
                       "exercise": "squat", "fps": 10.0, "num_frames": 30, "width": 8, "height": 8, "duration": 3.0})
        crit.append({"video_id": vid, "criterion": "depth", "passed": True, "origin": "imported",
                     "annotator": "corpus", "created_at": t0})
        for k, who in enumerate(("ana", "ben")):
            at = t0 + dt.timedelta(minutes=10 * c + k + 1)
            crit.append({"video_id": vid, "criterion": "depth", "passed": not verdict[who][c], "origin": "human",
                         "annotator": who, "created_at": at})  # a first opinion, corrected below
            crit.append({"video_id": vid, "criterion": "depth", "passed": verdict[who][c], "origin": "human",
                         "annotator": who, "created_at": at + dt.timedelta(seconds=30)})
            scores.append({"video_id": vid, "name": "quality", "value": score[who][c], "scale_min": 0.0,
                           "scale_max": 100.0, "origin": "human", "annotator": who, "created_at": at})
            if c < 4:
                segs += [{"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": a, "end_frame": b,
                          "origin": "human", "annotator": who, "created_at": at} for a, b in reps[who]]
    # ben later deleted every repetition of v3: an empty snapshot, recorded only in the pull ledger
    ledger = {"format": "gymdata.fiftyone-edits", "version": 1, "edits": [
        {"id": "e1", "video_id": "v3", "op": "segment_delete", "annotator": "ben", "origin": "human",
         "at": (t0 + dt.timedelta(days=1)).isoformat(), "table": "segments", "key": "repetition", "rows": 0}]}
    return store.create("labelled", {"videos": videos, "criteria": crit, "scores": scores, "segments": segs},
                        attachments={LEDGER: ledger})


def test_agreement_uses_each_annotators_latest_labels():
    ds = _labelled_store()
    report = agreement(ds)
    assert report.raters == ["ana", "ben"]
    rows = {(r["measure"], r["item"]): r for r in report.rows}
    a = ["pass", "pass", "fail", "fail", "pass", "unsure"]
    b = ["pass", "pass", "fail", "pass", "pass", "unsure"]
    assert rows[("cohen_kappa", "depth")]["value"] == pytest.approx(cohen_kappa(a, b))
    assert rows[("cohen_kappa", "depth")]["n"] == 6
    x = np.array([[80, 78], [60, 65], [40, 35], [90, 88], [70, 72], [50, 55]])
    assert rows[("icc_2_1", "score quality")]["value"] == pytest.approx(icc_2_1(x))
    # repetition counts: 2 vs 2 on v0-v2, 2 vs 0 on v3 (ben emptied it)
    assert rows[("exact_agreement", "repetition count")]["value"] == pytest.approx(3 / 4)
    iou = (9 / 10 + 10 / 11) / 2
    assert rows[("segment_iou", "repetitions")]["value"] == pytest.approx((3 * iou + 0.0) / 4)

    with_corpus = agreement(ds, include_imported=True)
    assert with_corpus.raters == ["ana", "ben", "corpus"]
    fleiss = [r for r in with_corpus.rows if r["measure"] == "fleiss_kappa"]
    assert fleiss and fleiss[0]["n"] == 6
    with pytest.raises(InputError, match="labels from 1 rater"):
        agreement(ds, annotators=["ana"])


def test_agreement_command_writes_a_table_and_a_png(tmp_path):
    _labelled_store()
    code, out, err = run_cli("agreement", "labelled", "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert "cohen_kappa" in out and "icc_2_1" in out and "segment_iou" in out and "ana+ben" in out
    png = tmp_path / "rep" / "agreement.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    doc = json.loads((tmp_path / "rep" / "agreement.json").read_text())
    assert doc["raters"] == ["ana", "ben"] and len(doc["rows"]) == 5
    # repetitions were labelled on 4 clips only: those figures are flagged, the 6-clip ones are not
    warning = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "fewer than 5 clips" in warning[0]
    assert "exact_agreement repetition count (4)" in warning[0] and "segment_iou repetitions (4)" in warning[0]
    assert "cohen_kappa" not in warning[0] and "score quality" not in warning[0]
    assert {(r["measure"], r["few_items"]) for r in doc["rows"]} == {
        ("cohen_kappa", False), ("icc_2_1", False), ("icc_2_1", True), ("exact_agreement", True),
        ("segment_iou", True)}
    code, _, err = run_cli("agreement", "labelled", "--annotator", "ana")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: dataset 'labelled' has labels from 1 rater(s): ana")
