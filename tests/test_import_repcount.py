"""The repcount importer: RepCount CSVs and Fit3D rep_ann.json, onto a dataset or with their videos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gymdata import store
from importers.repcount import add_repetitions, import_folder, read_repcount_csv
from importers.videos import import_videos
from tests.conftest import run_cli, write_video
from tests.fakes.repcount import evenly, write_rep_ann, write_repcount_csv
from tests.importer_base import ImporterContract

FRAMES = 30
CLIPS = {"squat/a.mp4": ("squat", 3), "squat/b.mp4": ("squat", 2), "pushup/c.mp4": ("push_up", 4)}


def _csv_rows(names=CLIPS):
    return [(kind, name, evenly(FRAMES, reps)) for name, (kind, reps) in names.items()]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


class TestRepCountOntoDataset(ImporterContract):
    """A RepCount CSV added to a dataset of videos imported before (the demo's route)."""

    importer = "repcount"
    corpus = "videos"

    def make_corpus(self, root):
        for name in CLIPS:
            write_video(root / "videos" / name, frames=FRAMES)
        write_repcount_csv(root / "repcount.csv", _csv_rows())
        return {"videos": len(CLIPS), "segments": sum(r for _, r in CLIPS.values())}

    def source(self, root):
        return root / "repcount.csv"

    def prepare(self, root, name):
        import_videos(root / "videos", name, workers=1, progress=False)

    def bad_inputs(self):
        return {
            "name matching no video": (lambda r: _replace(r / "repcount.csv", "pushup/c.mp4", "pushup/zz.mp4"),
                                       r"repcount\.csv: line 4: no video matches 'pushup/zz\.mp4'"),
            "odd number of frame values": (lambda r: _replace(r / "repcount.csv", ",18.0,27.0,", ",18.0,,"),
                                           r"line 2: 5 frame values; they must come in \(start, end\) pairs"),
            "frame that is not a number": (lambda r: _replace(r / "repcount.csv", ",0,9,9.0,", ",0,nine,9.0,"),
                                           r"line 2: frame 'nine' is not a number"),
            "repetition ending before it starts": (lambda r: _replace(r / "repcount.csv", ",0,9,9.0,", ",9,0,9.0,"),
                                                   r"line 2: repetition 1 ends \(frame 0\) before it starts \(9\)"),
            "repetition starting after the clip": (
                lambda r: _replace(r / "repcount.csv", ",18.0,27.0,", ",99.0,120.0,"),
                                                   r"a repetition starts at frame 99, after the last frame \(29\)"),
            "not a RepCount CSV": (lambda r: _replace(r / "repcount.csv", ",type,name,count,L1", ",type,file,count,X1"),
                                   r"not a RepCount CSV"),
        }


class TestRepCountFolder(ImporterContract):
    """A RepCount-A-shaped folder (video/<split>/, annotation/<split>.csv) imported with its videos."""

    importer = corpus = "repcount"

    def make_corpus(self, root):
        rows = {"train": [("squant", "stu1_1.mp4", 3), ("pull_up", "stu1_2.mp4", 2)],
                "valid": [("frontraise", "train951.mp4", 2)], "test": [("benchpressing", "test118.mp4", 4)]}
        for split, items in rows.items():
            for _kind, name, _reps in items:
                write_video(root / "video" / split / name, frames=FRAMES)
            write_repcount_csv(root / "annotation" / f"{split}.csv",
                               [(k, n, evenly(FRAMES, r)) for k, n, r in items], width=10, unnamed=True)
        return {"videos": 4, "segments": 11}

    def bad_inputs(self):
        return {
            "truncated Fit3D file": (lambda r: write_rep_ann(r / "s01", {}).write_text('{"squat": [1, 5'),
                                     r"rep_ann\.json: not valid JSON"),
            "name matching no video": (lambda r: _replace(r / "annotation/test.csv", "test118.mp4", "test119.mp4"),
                                       r"no video matches 'test119\.mp4'"),
        }


def test_folder_takes_exercise_split_and_count_from_the_annotations(tmp_path):
    TestRepCountFolder().make_corpus(tmp_path / "rc")
    import_folder(tmp_path / "rc", "r", workers=1, progress=False)
    df = store.open_dataset("r").df("videos").set_index("video_id")
    row = df.loc["video/train/stu1_1"]
    assert (row["exercise"], row["exercise_raw"], row["split"]) == ("squat", "squant", "train")
    assert json.loads(row["extras"])["rep_count"] == 3
    assert df.loc["video/valid/train951", "split"] == "val"
    assert df.loc["video/valid/train951", "exercise"] == "front_raise"  # in the vocabulary since issue 12
    assert df.loc["video/test/test118", "exercise"] == "bench_press"
    assert df.loc["video/train/stu1_2", "exercise"] == "pullup"


def test_segments_replace_their_own_rows_and_keep_others(tmp_path):
    corpus = TestRepCountOntoDataset()
    corpus.make_corpus(tmp_path)
    corpus.prepare(tmp_path, "d")
    write_repcount_csv(tmp_path / "other.csv", [("squat", "squat/a.mp4", [(1, 2)])])
    add_repetitions(tmp_path / "other.csv", "d")
    add_repetitions(tmp_path / "repcount.csv", "d")
    write_repcount_csv(tmp_path / "repcount.csv", [("squat", "squat/a.mp4", evenly(FRAMES, 5))])
    report, _notes = add_repetitions(tmp_path / "repcount.csv", "d")  # changed file: re-applied without --force
    assert report.counts == {"segments": 5}
    seg = store.open_dataset("d").df("segments")
    assert dict(seg["annotator"].value_counts()) == {"repcount:repcount.csv": 5, "repcount:other.csv": 1}
    a = seg[(seg["annotator"] == "repcount:repcount.csv")].sort_values("start_frame")
    assert list(zip(a["start_frame"], a["end_frame"])) == evenly(FRAMES, 5)
    assert set(a["video_id"]) == {"squat/a"} and set(a["kind"]) == {"repetition"} and set(a["label"]) == {"rep"}


def test_names_match_by_path_id_file_name_or_stem(tmp_path):
    corpus = TestRepCountOntoDataset()
    corpus.make_corpus(tmp_path)
    corpus.prepare(tmp_path, "d")
    write_repcount_csv(tmp_path / "names.csv", [("squat", "squat/a", [(0, 1)]), ("squat", "b.mp4", [(0, 1)]),
                                                ("push_up", "c", [(0, 1)])])
    add_repetitions(tmp_path / "names.csv", "d")
    assert sorted(store.open_dataset("d").df("segments")["video_id"]) == ["pushup/c", "squat/a", "squat/b"]


def test_skip_unmatched_clamping_and_notes(tmp_path):
    corpus = TestRepCountOntoDataset()
    corpus.make_corpus(tmp_path)
    corpus.prepare(tmp_path, "d")
    write_repcount_csv(tmp_path / "x.csv", [("squat", "squat/a.mp4", [(0, 10), (10, 35)]),
                                            ("squat", "nowhere.mp4", [(0, 1)]), ("squat", "squat/b.mp4", [])],
                       counts=[3, 1, 4])
    code, out, err = run_cli("import", "repcount", str(tmp_path / "x.csv"), "--name", "d", "--skip-unmatched")
    assert code == 0, err
    assert "segments 2" in out and "no video matches 'nowhere.mp4'" in err
    assert "1 repetition end(s) past the clip's last frame were clamped" in err
    assert "1 row(s) have a count that differs" in err and "1 row(s) have no frame pairs" in err
    seg = store.open_dataset("d").df("segments")
    assert seg["end_frame"].max() == FRAMES - 1


def test_unknown_dataset_is_a_clear_error(tmp_path):
    write_repcount_csv(tmp_path / "r.csv", [("squat", "a.mp4", [(0, 1)])])
    code, _out, err = run_cli("import", "repcount", str(tmp_path / "r.csv"), "--name", "nope")
    assert code == 1 and err.startswith("error: no dataset named 'nope'")


def test_fit3d_rep_ann_onto_every_camera_of_the_subject(tmp_path):
    tmp_path = tmp_path / "fit3d"
    for cam in ("50591643", "58860488"):
        write_video(tmp_path / "s03" / "videos" / cam / "squat.mp4", frames=FRAMES)
        write_video(tmp_path / "s04" / "videos" / cam / "squat.mp4", frames=FRAMES)
    write_rep_ann(tmp_path / "s03", {"squat": [2, 9, 17, 25], "deadlift": []})
    report, _ = import_folder(tmp_path, "fit", workers=1, progress=False)
    assert report.counts["videos"] == 4 and report.counts["segments"] == 6
    ds = store.open_dataset("fit")
    seg = ds.df("segments")
    assert set(seg["video_id"]) == {"s03/videos/50591643/squat", "s03/videos/58860488/squat"}
    one = seg[seg["video_id"] == "s03/videos/50591643/squat"].sort_values("start_frame")
    assert list(zip(one["start_frame"], one["end_frame"])) == [(2, 9), (9, 17), (17, 25)]
    assert set(seg["annotator"]) == {"fit3d:s03/rep_ann.json"}
    videos = ds.df("videos").set_index("video_id")
    assert videos.loc["s03/videos/50591643/squat", "subject"] == "s03"
    # the same file onto an existing dataset of these videos
    import_videos(tmp_path, "plain", exercise="squat", workers=1, progress=False)
    report, _ = add_repetitions(tmp_path / "s03" / "rep_ann.json", "plain")
    assert report.counts == {"segments": 6}


@pytest.mark.realdata
def test_real_repcount_a_files_parse(realdata):
    """TransRAC's RepCount-A files: Unnamed index column, float frames, trailing empty cells."""
    folder = realdata / "TransRAC" / "open_set"
    sizes = {}
    for split in ("train", "valid", "test"):
        entries = read_repcount_csv(folder / f"new_{split}.csv")
        sizes[split] = len(entries)
        assert all(e.reps and all(s <= t for s, t in e.reps) for e in entries)
        assert sum(e.count != len(e.reps) for e in entries) <= 1  # test118: count 6, five pairs
    assert sizes == {"train": 646, "valid": 128, "test": 250}
    counts_only = read_repcount_csv(realdata / "Countix-Fitness" / "annotation" / "test.csv")
    assert counts_only and all(not e.reps and e.count for e in counts_only)


def test_sample_repcount_csv_imports_onto_the_sample_videos(tmp_path):
    """The synthetic sample's videos/repcount.csv lands on its videos (gymdata import videos ... --meta)."""
    sample = pytest.importorskip("gymdata.sample")
    out = tmp_path / "sample"
    truth = sample.generate_sample(out, seed=0, subjects=2, takes=1, reps=(1, 2), fps=10, size=64)
    videos = out / "videos"
    code, _out, err = run_cli("import", "videos", str(videos), "--name", "s", "--meta", str(videos / "subjects.csv"),
                              "-j", "1", "--quiet")
    assert code == 0, err
    code, text, err = run_cli("import", "repcount", str(videos / "repcount.csv"), "--name", "s")
    assert code == 0, err
    seg = store.open_dataset("s").df("segments")
    expected = sum(len(e.reps) for e in read_repcount_csv(videos / "repcount.csv"))
    assert len(seg) == expected > 0 and truth
    code, _out, err = run_cli("validate", "s")
    assert code == 0, err
