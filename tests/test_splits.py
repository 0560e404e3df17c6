"""Splits: group-disjoint and stratified, deterministic, k-fold, official and authors' splits,
storage, selection, the leakage report and the ``gymdata split`` command's errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gymdata import store
from gymdata.errors import InputError
from gymdata.splits import (
    available_splits,
    group_ids,
    group_split,
    kfold_split,
    leakage_report,
    load_split,
    make_split,
    official_splits,
    parse_ratios,
    select_videos,
    stored_splits,
)
from gymdata.strata import clip_labels, stratum_labels
from importers.alexgym_splits import authors_split as alex_authors_split
from tests.conftest import run_cli

EXERCISES = {"squat": "squat.xlsx", "deadlift": "deadlift.xlsx", "lunge": "lunges.xlsx"}


def build(name: str = "d", subjects: int = 10, seed: int = 0, imported_split: bool = False) -> store.Dataset:
    """ALEX-GYM-1-like clips (no media): per subject and exercise two takes of 2-5 repetitions x 2
    views, with spreadsheet rows, three criteria per clip and a total score."""
    rng = np.random.default_rng(seed)
    videos, criteria, scores, now = [], [], [], store.now()
    for ex, sheet in EXERCISES.items():
        row = 0
        for s in range(subjects):
            for take in range(2):
                recording = f"{ex}/s{s}-t{take}"
                for rep in range(int(rng.integers(2, 6))):
                    row += 1
                    for view in ("frontal", "lateral"):
                        vid = f"{recording}/r{rep}/{view}"
                        videos.append({
                            "video_id": vid, "corpus": "alex-gym-1", "path": f"{vid}_*.jpg", "media_kind": "frames",
                            "exercise": ex, "exercise_raw": ex, "subject": f"s{s}", "recording": recording,
                            "view": view, "rep_index": rep, "fps": 30.0, "num_frames": 16, "width": 64, "height": 64,
                            "duration": 16 / 30, "split": ("train" if s % 2 else "test") if imported_split else None,
                            "extras": json.dumps({"spreadsheet": sheet, "spreadsheet_row": row + 1})})
                        for c in range(3):
                            criteria.append({"video_id": vid, "criterion": f"{ex} c{c}", "view": view, "value": 1.0,
                                             "passed": bool(rng.random() > 0.3 + 0.1 * c), "origin": "imported",
                                             "created_at": now})
                        scores.append({"video_id": vid, "name": "total", "value": float(rng.integers(0, 7)),
                                       "scale_min": 0.0, "scale_max": 6.0, "origin": "imported", "created_at": now})
    with store.building(name) as ds, ds.transaction() as txn:
        txn.write("videos", videos)
        txn.write("criteria", criteria)
        txn.write("scores", scores)
    return store.open_dataset(name)


def _parts_of(videos: pd.DataFrame, parts: pd.Series, column: str) -> pd.Series:
    v = videos.assign(part=videos["video_id"].map(parts)).dropna(subset=["part"])
    return v.groupby(column)["part"].nunique()


def test_group_ids_join_subjects_and_recordings_transitively():
    videos = pd.DataFrame({"subject": ["a", "a", "b", "c", None, None],
                           "recording": ["r1", "r2", "r2", "r3", "r4", None]})
    g = group_ids(videos)
    assert g[0] == g[1] == g[2]  # a shares r2 with b
    assert len({g[0], g[3], g[4], g[5]}) == 4  # c, r4 alone, and a clip with neither


def test_group_split_is_disjoint_stratified_and_seeded():
    ds = build()
    videos = ds.df("videos")
    parts = group_split(ds, (0.7, 0.15, 0.15), seed=0)
    assert set(parts.index) == set(videos["video_id"])
    assert (_parts_of(videos, parts, "subject") == 1).all()
    assert (_parts_of(videos, parts, "recording") == 1).all()
    shares = parts.value_counts(normalize=True)
    assert abs(shares["train"] - 0.7) < 0.12 and abs(shares["test"] - 0.15) < 0.1 and abs(shares["val"] - 0.15) < 0.1
    # every exercise is in every part (stratified), in shares near the targets
    by_ex = pd.crosstab(videos["exercise"], videos["video_id"].map(parts), normalize="index")
    assert (by_ex > 0).all().all() and (by_ex["train"] - 0.7).abs().max() < 0.2
    assert parts.equals(group_split(ds, (0.7, 0.15, 0.15), seed=0))
    assert not parts.equals(group_split(ds, (0.7, 0.15, 0.15), seed=1))


def test_stratification_balances_failures_better_than_sizes_alone():
    ds = build(subjects=16, seed=3)
    crit = ds.df("criteria")
    failed = crit[~crit["passed"].astype(bool)].groupby("video_id").size()

    def spread(stratify: bool) -> float:
        worst = []
        for seed in range(4):
            parts = group_split(ds, (0.6, 0.2, 0.2), seed=seed, stratify=stratify)
            rate = failed.reindex(parts.index, fill_value=0).groupby(parts).mean()
            worst.append(rate.max() - rate.min())
        return float(np.mean(worst))

    assert spread(True) <= spread(False)


def test_kfold_stratification_balances_strata_better_than_sizes_alone():
    """Folds share out each stratum (exercise, 2+ failed criteria, score tercile) more evenly than
    folds balanced by size only, and are seeded."""
    ds = build(subjects=16, seed=3)
    videos = ds.df("videos")
    stratum = pd.Series(stratum_labels(videos, clip_labels(ds, videos)), index=videos["video_id"].to_numpy())

    def deviation(stratify: bool) -> float:
        worst = []
        for seed in range(4):
            folds = kfold_split(ds, 4, seed=seed, stratify=stratify)
            assert folds.equals(kfold_split(ds, 4, seed=seed, stratify=stratify))
            share = pd.crosstab(folds, stratum.reindex(folds.index), normalize="columns")
            worst.append(float((share - 0.25).abs().to_numpy().mean()))
        return float(np.mean(worst))

    assert deviation(True) < deviation(False)


def test_too_few_groups_and_bad_ratios_are_clear_errors():
    ds = build(subjects=1)  # 3 exercises x 1 subject: one group per subject -> one group in all
    with pytest.raises(InputError, match="only 1 subject/recording group"):
        group_split(ds)
    for bad, why in (("0.7,0.2,0.2", "sum to 1.1"), ("a,b,c", "not numbers"), ("0,0.5,0.5", "train > 0"),
                     ("0.5,0.2,0.2,0.1", "train,val,test")):
        with pytest.raises(InputError, match=why):
            parse_ratios(bad)
    assert parse_ratios("0.8,0.2") == (0.8, 0.0, 0.2)


def test_kfold_is_disjoint_and_covers_every_clip():
    ds = build()
    folds = kfold_split(ds, 4, seed=0)
    videos = ds.df("videos")
    assert sorted(folds.unique()) == ["fold1", "fold2", "fold3", "fold4"]
    assert (_parts_of(videos, folds, "subject") == 1).all()
    subjects = videos.assign(fold=videos["video_id"].map(folds)).groupby("fold")["subject"].nunique()
    assert subjects.max() - subjects.min() <= 1  # 10 subjects in 4 folds: 3, 3, 2, 2


def test_alex_authors_split_is_their_row_shuffle_and_leaks():
    ds = build(subjects=4)
    videos = ds.df("videos")
    parts = alex_authors_split(videos)
    for ex in EXERCISES:
        # the authors' code/utils/data_processing.py, verbatim in spirit: shuffle rows, cut at 70% and 85%
        sheet_videos = videos[videos["exercise"] == ex]
        n = sheet_videos["extras"].map(lambda e: json.loads(e)["spreadsheet_row"] - 1).max()
        df = pd.DataFrame({"row": range(n)}).sample(frac=1, random_state=42).reset_index(drop=True)
        train, val = int(n * 0.7), int(n * 0.15)
        expected = {r: "train" for r in df["row"][:train]} | {r: "val" for r in df["row"][train:train + val]} \
            | {r: "test" for r in df["row"][train + val:]}
        for vid, extras in zip(sheet_videos["video_id"], sheet_videos["extras"]):
            assert parts[vid] == expected[json.loads(extras)["spreadsheet_row"] - 2]
    report = leakage_report(ds, parts, "alex-authors")
    assert report.leaks and report.leaked_recordings and report.leaked_subjects
    assert report.leak_lines()[0].startswith("LEAK:")


def test_official_splits_from_extras_and_flex_scores():
    videos = pd.DataFrame({
        "video_id": ["a", "b", "c"], "corpus": ["ucf101", "ucf101", "other"],
        "extras": [json.dumps({"splits": {"1": "train", "2": "test"}}), json.dumps({"splits": {"1": "test"}}),
                   json.dumps({"splits": {"x": "valid"}})]})
    found = official_splits(None, videos)  # the UCF-101 importer names its folds; other corpora <corpus>-<key>
    assert sorted(found) == ["other-x", "ucf-fold1", "ucf-fold2"]
    assert found["ucf-fold1"].to_dict() == {"a": "train", "b": "test"}
    assert found["other-x"].to_dict() == {"c": "val"}


def test_split_command_reports_saves_default_and_keeps_imported():
    ds = build(imported_split=True)
    code, out, err = run_cli("split", "d")
    assert code == 0, err
    assert "leakage report for split 'seed0'" in out and "no leakage" in out and "now the default" in out
    ds.reload()
    videos = ds.df("videos")
    assert set(videos["split"]) == {"train", "val", "test"}
    assert (_parts_of(videos, videos.set_index("video_id")["split"], "subject") == 1).all()
    assert set(stored_splits(ds)) == {"imported", "seed0"}
    assert load_split(ds, "imported").isin(["train", "test"]).all()  # the importer's split is kept
    code, out, _ = run_cli("split", "d", "--scheme", "alex-authors")
    assert code == 0 and "LEAK:" in out and "recordings appear in more than one part" in out
    # a derived split does not replace the default unless asked
    assert load_split(ds, None).to_dict() == load_split(ds, "seed0").to_dict()
    code, out, _ = run_cli("split", "d", "--scheme", "kfold", "-k", "3", "--seed", "2")
    assert code == 0 and "fold3" in out
    assert {f"kfold3-seed2-{i}" for i in (1, 2, 3)} <= set(available_splits(ds))
    code, out, _ = run_cli("split", "d", "--list")
    assert code == 0 and "alex-authors [derived]" in out and "kfold3-seed2-1 [kfold]" in out


@pytest.mark.parametrize("args,message", [
    (["--ratios", "0.5,0.3,0.3"], "sum to 1.1"),
    (["--scheme", "nosuch"], "unknown split 'nosuch'"),
    (["--scheme", "kfold", "--default"], "cannot be the default"),
    (["--scheme", "kfold", "-k", "30"], "cannot make a non-empty"),
])
def test_split_command_bad_input_is_one_line(args, message):
    build()
    code, _, err = run_cli("split", "d", *args)
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1, err


def test_select_videos_parts_named_splits_and_errors():
    ds = build()
    with pytest.raises(InputError, match="default split .* is empty"):
        select_videos(ds, "test")
    make_split(ds, seed=0)
    test = select_videos(ds, "test")
    assert len(test) and set(test["split"]) == {"test"}
    assert select_videos(ds, "seed0:test")["video_id"].tolist() == test["video_id"].tolist()
    whole = select_videos(ds, "alex-authors")
    assert len(whole) == ds.count("videos") and set(whole["split"]) == {"train", "val", "test"}
    assert len(select_videos(ds, None)) == ds.count("videos")
    with pytest.raises(InputError, match="unknown split 'nope'"):
        select_videos(ds, "nope:train")
    with pytest.raises(InputError, match="has no part 'fold9'"):
        select_videos(ds, "seed0:fold9")


def test_leakage_report_table_has_label_balance():
    ds = build()
    parts = group_split(ds)
    report = leakage_report(ds, parts, "x")
    assert list(report.table.index) == ["train", "val", "test"]
    assert {"clips", "recordings", "subjects", "squat", "faulty", "fail_rate", "score"} <= set(report.table.columns)
    assert report.table["clips"].sum() == ds.count("videos")
    assert 0 < report.table["fail_rate"].min() and report.table["fail_rate"].max() < 1
    assert not report.leaks and report.leak_lines()[0].startswith("no leakage")
    assert report.to_dict()["parts"]["train"]["clips"] == int(report.table.at["train", "clips"])


def test_ucf101_official_folds_come_from_the_importer_and_hold_groups_out(tmp_path):
    from tests.fakes.ucf101 import write_ucf101

    write_ucf101(tmp_path / "ucf", classes=["PushUps", "Lunges"], groups=(1, 8, 15, 22), clips=2)
    assert run_cli("import", "ucf101", str(tmp_path / "ucf"), "--name", "u", "--quiet")[0] == 0
    ds = store.open_dataset("u")
    splits = available_splits(ds)
    assert {"ucf-fold1", "ucf-fold2", "ucf-fold3"} <= set(splits)
    for fold in ("ucf-fold1", "ucf-fold2", "ucf-fold3"):
        assert set(splits[fold]) == {"train", "test"} and len(splits[fold]) == ds.count("videos")
        assert not leakage_report(ds, splits[fold], fold).leaks  # the official folds hold groups out
    code, out, _ = run_cli("split", "u", "--scheme", "ucf-fold2")
    assert code == 0 and "no leakage" in out
    assert len(select_videos(ds, "ucf-fold2:test")) == int((splits["ucf-fold2"] == "test").sum())
