"""``gymdata score``: a real clip through MediaPipe -> features -> model -> JSON report and overlay
video; ``--live`` with a video file as the stream, headless; errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gymdata.media import probe_video
from tests.baselines_support import CRITERIA, EXERCISES, write_export
from tests.conftest import run_cli

CLIP = "computervision/data/squat/correct/squat_correct_016.mp4"  # 29 frames, one squat, side view


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Run folders of tiny models trained on the fake export: criteria (one view and two views)
    and score."""
    root = tmp_path_factory.mktemp("score")
    export = write_export(root / "arrays")
    tiny = ["--data", str(export), "--epochs", "1", "--batch-size", "4", "--device", "cpu"]
    pose = ["--gru-hidden", "16", "--channels", "32,16,8"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GYMDATA_HOME", str(root / "store"))
        for run_id, args in {"one-view": ["vcoach", "--views", "any", *pose], "two-views": ["vcoach", *pose],
                             "scorer": ["bilstm", "--hidden", "16"]}.items():
            code, _, err = run_cli("train", *args, *tiny, "--run-id", run_id)
            assert code == 0, err
    return {name: root / "store" / "runs" / name for name in ("one-view", "two-views", "scorer")}


def test_score_real_clip_writes_report_and_overlay(realdata, runs, tmp_path):
    clip = realdata / CLIP
    code, out, err = run_cli("score", str(clip), "--run", str(runs["one-view"]), "--out", str(tmp_path), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report == json.loads((tmp_path / "squat_correct_016.score.json").read_text()) | {"json": report["json"]}
    assert report["exercise"]["name"] in EXERCISES and 0 <= report["exercise"]["confidence"] <= 1
    assert sum(report["exercise"]["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    crit = report["criteria"]
    assert [c["criterion"] for c in crit] == CRITERIA[report["exercise"]["name"]]
    assert all(c["passed"] == (c["probability"] >= 0.5) for c in crit)
    assert report["score"]["kind"] == "criteria passed (%)"
    assert report["score"]["value"] == pytest.approx(100 * sum(c["passed"] for c in crit) / len(crit), abs=0.01)
    assert report["pose"]["detected_frames"][0] > 20  # a person is in (nearly) every frame
    assert isinstance(report["repetitions"]["count"], int) and report["repetitions"]["counter"] == "periodic"
    overlay = Path(report["overlays"][0])
    src, drawn = probe_video(clip), probe_video(overlay, exact=True)
    assert drawn.num_frames == src.num_frames and (drawn.width, drawn.height) == (src.width, src.height)


def test_score_with_a_score_model(realdata, runs, tmp_path):
    code, out, err = run_cli("score", str(realdata / CLIP), "--run", str(runs["scorer"]), "--out", str(tmp_path),
                             "--no-overlay", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["score"]["kind"] == "regressed" and 0 <= report["score"]["value"] <= 100
    assert "criteria" not in report and "overlays" not in report


def test_live_headless_with_a_file_as_the_stream(realdata, runs, tmp_path, monkeypatch):
    import cv2

    def no_gui(*args, **kwargs):
        raise AssertionError("a GUI call was made headless")

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    for name in ("imshow", "waitKey", "namedWindow", "destroyAllWindows"):
        monkeypatch.setattr(cv2, name, no_gui)
    out = tmp_path / "live.mp4"
    code, stdout, err = run_cli("score", "--live", str(realdata / CLIP), "--run", str(runs["one-view"]),
                                "--max-frames", "20", "--every", "4", "--out", str(out), "--json")
    assert code == 0, err
    stats = json.loads(stdout)
    assert stats["headless"] and stats["frames"] == 20 and stats["fps"] > 0
    assert stats["verdicts"] == 5 and stats["last"]["exercise"]["name"] in EXERCISES
    assert probe_video(out, exact=True).num_frames == 20


def test_clip_without_a_person(runs, tmp_path, make_video):
    """No person, no verdict: a blank clip (or a single frame) is an error, not a confident score."""
    video = make_video(tmp_path / "square.mp4", frames=20, size=(96, 64))
    out_dir = tmp_path / "out"
    code, out, err = run_cli("score", str(video), "--run", str(runs["one-view"]), "--out", str(out_dir), "--json")
    assert code == 2 and out == ""
    assert "square.mp4: no person was found in any of its 20 frames" in err and len(err.strip().splitlines()) == 1
    assert not (out_dir / "square.score.json").exists()
    one = make_video(tmp_path / "one.mp4", frames=1, size=(96, 64))
    code, out, err = run_cli("score", str(one), "--run", str(runs["one-view"]), "--out", str(out_dir))
    assert code == 2 and "1 frame(s): too short to judge" in err and "PASS" not in out


def test_bad_inputs(runs, tmp_path, make_video):
    video = make_video(tmp_path / "a.mp4", frames=6)
    code, _, err = run_cli("score", str(video), "--run", str(runs["two-views"]), "--out", str(tmp_path))
    assert code == 2 and "takes 2 video(s) (frontal, lateral), got 1" in err
    code, _, err = run_cli("score", "--live", str(video), "--run", str(runs["two-views"]), "--headless")
    assert code == 2 and "single-view run" in err
    code, _, err = run_cli("score", "--live", str(tmp_path / "missing.mp4"), "--run", str(runs["one-view"]),
                           "--headless")
    assert code == 2 and "cannot open video source" in err
    code, _, err = run_cli("score", str(tmp_path / "missing.mp4"), "--run", str(runs["one-view"]))
    assert code == 2 and "not found" in err
    code, _, err = run_cli("score", str(video), "--run", "no-such-run")
    assert code == 2 and "no run" in err
