"""The UCF-101 importer on a fake release: the contract, folds, classes, the file-name quirk, bad inputs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from gymdata import store
from importers.ucf101 import EXERCISE_CLASSES, import_ucf101
from tests.conftest import run_cli
from tests.fakes.ucf101 import UCF101_CLASSES, write_ucf101
from tests.importer_base import ImporterContract

OTHERS = ["Archery", "YoYo"]


def _edit(path: Path, old: str, new: str) -> None:
    data = path.read_bytes().decode()
    assert old in data
    path.write_bytes(data.replace(old, new, 1).encode())


class TestUCF101(ImporterContract):
    importer = corpus = "ucf101"

    def make_corpus(self, root):
        written = write_ucf101(root, classes=[*EXERCISE_CLASSES, *OTHERS])
        return {"videos": sum(r.split("/")[0] in EXERCISE_CLASSES for r in written)}

    def bad_inputs(self):
        lists = Path("ucfTrainTestlist")
        return {
            "classInd missing": (lambda r: (r / lists / "classInd.txt").unlink(), r"classInd\.txt not found"),
            "fold list missing": (lambda r: (r / lists / "testlist02.txt").unlink(), "test list of fold 2 not found"),
            "malformed classInd": (lambda r: _edit(r / lists / "classInd.txt", "10 BenchPress", "BenchPress"),
                                   r"classInd\.txt: line 10: expected '<index> <Class>'"),
            "label contradicts classInd": (
                lambda r: _edit(r / lists / "trainlist01.txt", "BenchPress/v_BenchPress_g08_c01.avi 10",
                                "BenchPress/v_BenchPress_g08_c01.avi 11"), "differs from classInd's 10"),
            "unknown class in a list": (lambda r: _edit(r / lists / "testlist01.txt", "PushUps/", "PushUpz/"),
                                        "is not in classInd.txt"),
            "listed clip missing": (lambda r: (r / "UCF-101/PushUps/v_PushUps_g15_c01.avi").unlink(),
                                    r"1 clip\(s\) named in the split lists are missing, "
                                    r"e\.g\. PushUps/v_PushUps_g15_c01\.avi"),
        }


@pytest.fixture
def ucf(tmp_path):
    root = tmp_path / "ucf"
    write_ucf101(root, classes=[*EXERCISE_CLASSES, *OTHERS])
    return root


def videos_of(name: str):
    return store.open_dataset(name).df("videos").set_index("video_id")


def test_exercise_classes_by_default_and_all_on_request(ucf):
    import_ucf101(ucf, "ex", workers=1, progress=False)
    df = videos_of("ex")
    assert set(df["exercise_raw"]) == set(EXERCISE_CLASSES) and "other" not in set(df["exercise"])
    import_ucf101(ucf, "all", classes="all", workers=1, progress=False)
    df = videos_of("all")
    assert set(df["exercise_raw"]) == set(EXERCISE_CLASSES) | set(OTHERS)
    assert set(df.loc[df["exercise_raw"].isin(OTHERS), "exercise"]) == {"other"}
    import_ucf101(ucf, "two", classes="pushups, Lunges", workers=1, progress=False)
    assert set(videos_of("two")["exercise_raw"]) == {"PushUps", "Lunges"}


def test_clip_fields_folds_and_class_index(ucf):
    import_ucf101(ucf, "u", workers=1, progress=False)
    df = videos_of("u")
    row = df.loc["v_PushUps_g01_c01"]
    assert row["path"] == "UCF-101/PushUps/v_PushUps_g01_c01.avi"
    assert (row["exercise"], row["subject"], row["recording"]) == ("pushup", "g01", "PushUps/g01_c01")
    assert (row["fps"], row["num_frames"], row["width"], row["height"]) == (25.0, 10, 320, 240)
    extras = json.loads(row["extras"])
    assert extras["class_index"] == UCF101_CLASSES.index("PushUps") + 1 == 72
    assert extras["splits"] == {"1": "test", "2": "train", "3": "train"} and row["split"] == "test"
    assert json.loads(df.loc["v_PushUps_g08_c01", "extras"])["splits"] == {"1": "train", "2": "test", "3": "train"}
    assert json.loads(df.loc["v_PushUps_g22_c01", "extras"])["splits"] == {"1": "train", "2": "train", "3": "train"}
    import_ucf101(ucf, "fold3", fold="3", workers=1, progress=False)
    assert videos_of("fold3").loc["v_PushUps_g15_c01", "split"] == "test"


def test_handstand_pushups_file_name_quirk(ucf):
    assert (ucf / "UCF-101/HandstandPushups/v_HandStandPushups_g08_c01.avi").is_file()
    import_ucf101(ucf, "u", classes="HandstandPushups", workers=1, progress=False)
    df = videos_of("u")
    assert len(df) == 4
    row = df.loc["v_HandStandPushups_g08_c01"]
    assert (row["exercise"], row["exercise_raw"]) == ("pushup", "HandstandPushups")
    assert json.loads(row["extras"])["splits"]["2"] == "test"


def test_root_can_be_the_clip_folder_with_the_lists_beside_it(ucf):
    import_ucf101(ucf / "UCF-101", "u", workers=1, progress=False)
    assert videos_of("u").loc["v_Lunges_g01_c01", "path"] == "Lunges/v_Lunges_g01_c01.avi"
    code, _out, err = run_cli("validate", "u")
    assert code == 0, err


def test_unreadable_clip_is_reported_and_skipped(ucf):
    (ucf / "UCF-101/Lunges/v_Lunges_g08_c01.avi").unlink()
    (ucf / "UCF-101/Lunges/v_Lunges_g08_c01.avi").write_bytes(b"not a video")
    code, out, err = run_cli("import", "ucf101", str(ucf), "--name", "u", "-j", "1", "--quiet")
    assert code == 0, err
    assert "skipped 1 unreadable input(s)" in err and "v_Lunges_g08_c01.avi" in err
    assert "v_Lunges_g08_c01" not in videos_of("u").index


def test_decode_check_and_parallel_probing_agree(ucf):
    import_ucf101(ucf, "fast", workers=1, progress=False)
    import_ucf101(ucf, "slow", workers=2, decode_check=True, progress=False)
    cols = ["path", "fps", "num_frames", "width", "height", "split", "subject"]
    assert videos_of("fast")[cols].sort_index().equals(videos_of("slow")[cols].sort_index())


def test_unknown_class_and_fold_are_refused(ucf):
    code, _out, err = run_cli("import", "ucf101", str(ucf), "--name", "u", "--classes", "Squats", "--quiet")
    assert code == 2 and "unknown class 'Squats'" in err
    code, _out, err = run_cli("import", "ucf101", str(ucf), "--name", "u", "--fold", "4", "--quiet")
    assert code == 2 and not store.exists("u")


@pytest.mark.realdata
def test_real_clips_in_a_ucf_tree(realdata, tmp_path):
    """Real MPEG-4 AVIs (as UCF-101's XVID clips are) linked into the release's layout probe correctly."""
    from gymdata.media import probe_video

    sources = sorted((realdata / "computervision/data/squat/correct").glob("*.avi"))[:2]
    copies = []
    for src in sources:  # copy first: never link the shared read-only files
        copies.append(tmp_path / src.name)
        shutil.copyfile(src, copies[-1])
    root = tmp_path / "ucf"
    write_ucf101(root, classes=["BodyWeightSquats"], groups=(1, 22), sources=copies)
    import_ucf101(root, "real", workers=1, progress=False)
    df = videos_of("real")
    truth = probe_video(copies[0], exact=True)
    row = df.loc["v_BodyWeightSquats_g01_c01"]
    assert (row["num_frames"], row["width"], row["height"], row["fps"]) == (
        truth.num_frames, truth.width, truth.height, pytest.approx(truth.fps))
    assert os.path.samefile(root / row["path"], copies[0])
