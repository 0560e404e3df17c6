"""The videos importer: both scoring-project layouts, folders, and every bad input."""

from __future__ import annotations

import os
import shutil

import pytest

from gymdata import store
from importers.videos import import_videos
from tests.conftest import run_cli


def test_folder_layout_takes_exercise_and_split_from_folders(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "squats_train" / "a.mp4", frames=10)
    make_video(root / "PushUps_test" / "b.mp4", frames=14, size=(80, 60))
    report = import_videos(root, "mine", workers=1, progress=False)
    assert report.counts["videos"] == 2
    df = store.open_dataset("mine").df("videos").set_index("video_id")
    assert df.loc["squats_train/a", "exercise"] == "squat" and df.loc["squats_train/a", "split"] == "train"
    assert df.loc["PushUps_test/b", "exercise"] == "pushup" and df.loc["PushUps_test/b", "split"] == "test"
    b = df.loc["PushUps_test/b"]
    assert (b.num_frames, b.width, b.height, b.fps) == (14, 80, 60, 25.0)
    assert b.duration == pytest.approx(14 / 25)


def test_seed_001_layout_per_exercise_csvs(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "squats_train" / "s1.mp4")
    make_video(root / "lunges_test" / "l1.mp4")
    (root / "squat_scores.csv").write_text("relative_path,score\nsquats_train/s1.mp4,81.5\n")
    (root / "lunge_scores.csv").write_text("relative_path,score\nlunges_test/l1.mp4,40\n")
    import_videos(root, "s001", workers=1, progress=False)
    ds = store.open_dataset("s001")
    scores = ds.df("scores").set_index("video_id")
    assert scores.loc["squats_train/s1", "value"] == pytest.approx(81.5)
    assert scores.loc["lunges_test/l1", "annotator"] == "csv:lunge_scores.csv"
    assert (scores["scale_max"] == 100).all() and (scores["origin"] == "imported").all()
    assert dict(zip(ds.df("videos")["video_id"], ds.df("videos")["exercise"])) == {
        "lunges_test/l1": "lunge", "squats_train/s1": "squat"}


def test_seed_003_layout_and_meta_sidecar(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "exercises_train" / "x.mp4")
    make_video(root / "exercises_train" / "y.mp4")
    make_video(root / "exercises_train" / "unlisted.mp4")
    (root / "exercise_scores.csv").write_text(
        "relative_path,exercise_type,score\nexercises_train/x.mp4,dumbbell_curl,55\nexercises_train/y.mp4,plank,90\n")
    meta = tmp_path / "meta.csv"
    meta.write_text("relative_path,subject,view\nexercises_train/x.mp4,p1,lateral\n")
    import_videos(root, "s003", meta=meta, workers=1, progress=False)
    df = store.open_dataset("s003").df("videos").set_index("video_id")
    assert sorted(df.index) == ["exercises_train/x", "exercises_train/y"]  # only what the CSV lists
    assert df.loc["exercises_train/x", "exercise"] == "curl"
    assert df.loc["exercises_train/x", "exercise_raw"] == "dumbbell_curl"
    assert (df.loc["exercises_train/x", "subject"], df.loc["exercises_train/x", "view"]) == ("p1", "lateral")


def test_reimport_is_a_no_op_and_force_rebuilds(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "squat" / "a.mp4")
    import_videos(root, "idem", workers=1, progress=False)
    ds = store.open_dataset("idem")
    before = (ds.path / "dataset.json").read_bytes()
    assert import_videos(root, "idem", workers=1, progress=False).up_to_date
    assert (ds.path / "dataset.json").read_bytes() == before
    make_video(root / "squat" / "b.mp4")
    code, _, err = run_cli("import", "videos", str(root), "--name", "idem", "--quiet")
    assert code == 1 and "exists and differs" in err and "--force" in err
    assert import_videos(root, "idem", workers=1, progress=False, force=True).counts["videos"] == 2


def test_parallel_probing_matches_serial(tmp_path, make_video):
    root = tmp_path / "data"
    for i in range(6):
        make_video(root / "squat" / f"c{i}.mp4", frames=8 + i)
    import_videos(root, "serial", workers=1, progress=False)
    import_videos(root, "parallel", workers=2, progress=False)
    cols = ["video_id", "num_frames", "fps", "width", "height"]
    assert store.open_dataset("serial").read("videos", cols).equals(store.open_dataset("parallel").read("videos", cols))


# -- bad inputs: one line, non-zero exit, nothing written -------------------------------------------------------


def assert_fails(args, *fragments, code=2):
    rc, out, err = run_cli("import", "videos", *args, "--name", "bad", "--quiet")
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == code, (rc, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not store.exists("bad")
    assert not list(store.home().glob(".bad*"))


def test_missing_folder(tmp_path):
    assert_fails([str(tmp_path / "nowhere")], "nowhere", "root not found")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_fails([str(tmp_path / "empty")], "empty", "root is empty")


def test_folder_without_videos(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("hi")
    assert_fails([str(tmp_path / "d")], "no video files found")


def test_csv_with_wrong_header(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "squat" / "a.mp4")
    (root / "exercise_scores.csv").write_text("path,exercise,score\nsquat/a.mp4,squat,5\n")
    assert_fails([str(root)], "exercise_scores.csv", "unexpected header", "relative_path,exercise_type,score")


def test_score_out_of_range(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "squat" / "a.mp4")
    (root / "exercise_scores.csv").write_text("relative_path,exercise_type,score\nsquat/a.mp4,squat,140\n")
    assert_fails([str(root)], "exercise_scores.csv", "line 2", "outside 0-100")


def test_unknown_exercise_in_csv(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "x" / "a.mp4")
    (root / "exercise_scores.csv").write_text("relative_path,exercise_type,score\nx/a.mp4,zumba,50\n")
    assert_fails([str(root)], "exercise_scores.csv:2", "unknown exercise 'zumba'")


def test_unknown_exercise_folder(tmp_path, make_video):
    make_video(tmp_path / "data" / "zumba" / "a.mp4")
    assert_fails([str(tmp_path / "data")], "a.mp4", "unknown exercise 'zumba'", "use one of")


def test_corrupt_file_is_reported_and_skipped(tmp_path, make_video):
    root = tmp_path / "data"
    make_video(root / "squat" / "good.mp4")
    (root / "squat" / "garbage.mp4").write_bytes(os.urandom(4096))
    good = (root / "squat" / "good.mp4").read_bytes()
    (root / "squat" / "truncated.mp4").write_bytes(good[: len(good) // 3])
    code, out, err = run_cli("import", "videos", str(root), "--name", "c", "--quiet")
    assert code == 0, err
    assert "skipped 2 unreadable input(s)" in err
    assert "garbage.mp4" in err and "truncated.mp4" in err
    assert store.open_dataset("c").count("videos") == 1


def test_all_corrupt_is_an_error(tmp_path):
    root = tmp_path / "data" / "squat"
    root.mkdir(parents=True)
    (root / "a.mp4").write_bytes(b"\x00" * 100)
    assert_fails([str(tmp_path / "data")], "none of the videos could be read")


def test_webm_named_mp4_and_real_clips(tmp_path, realdata):
    """Real clips, including a WebM stream behind an .mp4 name with no duration in its header."""
    root = tmp_path / "real"
    (root / "pushup").mkdir(parents=True)
    (root / "squat").mkdir()
    shutil.copy(realdata / "Calisthenics-Tracker/pushups.mp4", root / "pushup/pushups.mp4")
    shutil.copy(realdata / "aiTrainer/videos/squats2.mp4", root / "squat/squats2.mp4")
    import_videos(root, "real", workers=1, progress=False)
    df = store.open_dataset("real").df("videos").set_index("video_id")
    webm = df.loc["pushup/pushups"]
    assert webm.num_frames == 475 and (webm.width, webm.height) == (640, 480)
    assert webm.duration == pytest.approx(475 / webm.fps)
    assert (df.loc["squat/squats2", "width"], df.loc["squat/squats2", "height"]) == (360, 640)
