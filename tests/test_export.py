"""Exporters: import -> export -> import round trips for every format with an importer, the HF
formats read back with ``datasets``, and the command's bad inputs (one line, nothing half-written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gymdata import store
from gymdata.sample import generate_sample
from gymdata.splits import make_split
from tests.conftest import run_cli

KEYS = {"videos": ["video_id"], "criteria": ["video_id", "criterion"], "scores": ["video_id", "name"],
        "segments": ["video_id", "kind", "start_frame", "label"], "penalties": ["video_id", "error_type", "points"],
        "poses": ["video_id", "frame", "source"], "signals": ["video_id", "channel"]}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """A small synthetic corpus in both layouts (ALEX-GYM-1 and videos + CSVs)."""
    out = tmp_path_factory.mktemp("sample") / "s"
    generate_sample(out, seed=0, subjects=3, takes=1, reps=(2, 3), size=64, fps=10)
    return out


def frame(table: pa.Table | pd.DataFrame, name: str, drop=("created_at",)) -> pd.DataFrame:
    """A table as a sorted DataFrame, extras parsed, list columns as tuples (NaN-safe compare)."""
    df = table.to_pandas() if isinstance(table, pa.Table) else table.copy()
    df = df.drop(columns=[c for c in drop if c in df.columns])
    if "extras" in df:
        df["extras"] = df["extras"].map(lambda e: json.dumps(json.loads(e), sort_keys=True) if e else e)
    for col in ("landmarks", "world", "samples"):
        if col in df:
            df[col] = df[col].map(lambda v: None if v is None else tuple(np.nan_to_num(np.asarray(v), nan=-999.0)))
    return df.sort_values(KEYS[name]).reset_index(drop=True)


def assert_same(a: store.Dataset, b: store.Dataset, tables, drop=("created_at",)) -> None:
    for name in tables:
        x, y = frame(a.read(name), name, drop), frame(b.read(name), name, drop)
        assert len(x) == len(y) > 0, name
        pd.testing.assert_frame_equal(x, y, check_dtype=False, obj=name)


def test_alexgym_round_trip(sample, tmp_path):
    assert run_cli("import", "alex-gym-1", str(sample / "alex-gym-1"), "--name", "a")[0] == 0
    code, out, err = run_cli("export", "a", "--format", "alex-gym-1", str(tmp_path / "x"), "--quiet")
    assert code == 0, err
    assert "rows" in out and (tmp_path / "x" / "squat.xlsx").is_file() and (tmp_path / "x" / "subjects.csv").is_file()
    assert run_cli("import", "alex-gym-1", str(tmp_path / "x"), "--name", "b")[0] == 0
    assert_same(store.open_dataset("a"), store.open_dataset("b"), ("videos", "criteria", "scores", "poses"))
    # the frames are the same files
    src = sorted((sample / "alex-gym-1" / "Squat_frames").iterdir())
    assert [p.read_bytes() for p in src] == [(tmp_path / "x" / "Squat_frames" / p.name).read_bytes() for p in src]


def test_flex_round_trip(tmp_path):
    from tests.fakes.flex import write_flex

    write_flex(tmp_path / "flex", phantom=False)
    assert run_cli("import", "flex", str(tmp_path / "flex"), "--name", "a", "--quiet")[0] == 0
    code, out, err = run_cli("export", "a", "--format", "flex", str(tmp_path / "x"), "--quiet")
    assert code == 0 and "knowledge graph 4" in out, err
    assert run_cli("import", "flex", str(tmp_path / "x"), "--name", "b", "--quiet")[0] == 0
    assert_same(store.open_dataset("a"), store.open_dataset("b"),
                ("videos", "scores", "segments", "penalties", "poses", "signals"))


def test_scores_csv_round_trip_both_layouts(sample, tmp_path):
    videos = sample / "videos"
    assert run_cli("import", "videos", str(videos), "--name", "a", "--meta", str(videos / "subjects.csv"),
                   "--quiet")[0] == 0
    a = store.open_dataset("a")
    make_split(a, ratios=(0.5, 0, 0.5))
    for layout in ("per-exercise", "single"):
        out = tmp_path / layout
        code, _, err = run_cli("export", "a", "--format", "scores-csv", str(out), "-o", f"layout={layout}", "--quiet")
        assert code == 0, err
        if layout == "per-exercise":
            assert (out / "squat_scores.csv").read_text().startswith("relative_path,score\n")
            assert {p.name for p in out.iterdir() if p.is_dir()} >= {"squat_train", "squat_test"}
        assert run_cli("import", "videos", str(out), "--name", f"b-{layout}", "--meta", str(out / "meta.csv"),
                       "--quiet")[0] == 0
        b = store.open_dataset(f"b-{layout}")
        # ids and paths follow the layout; everything else comes back
        cols = ["exercise", "subject", "recording", "view", "split", "num_frames", "fps", "width", "height"]
        key = ["recording", "view"]
        x = a.df("videos").sort_values(key)[cols].reset_index(drop=True)
        y = b.df("videos").sort_values(key)[cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y, check_dtype=False)
        sx = a.df("scores").merge(a.df("videos"), on="video_id").sort_values(key)["value"].to_numpy()
        sy = b.df("scores").merge(b.df("videos"), on="video_id").sort_values(key)["value"].to_numpy()
        np.testing.assert_allclose(sx, sy, atol=1e-4)


def test_repcount_round_trip(sample, tmp_path):
    assert run_cli("import", "repcount", str(sample / "videos"), "--name", "a", "--quiet")[0] == 0
    a = store.open_dataset("a")
    make_split(a, ratios=(0.5, 0, 0.5))
    code, _, err = run_cli("export", "a", "--format", "repcount", str(tmp_path / "x"), "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "x" / "annotation").iterdir()) == ["test.csv", "train.csv"]
    assert run_cli("import", "repcount", str(tmp_path / "x"), "--name", "b", "--quiet")[0] == 0
    b = store.open_dataset("b")

    def reps(ds):  # per clip (by file name): exercise, split, frame count and its repetitions
        v = ds.df("videos").set_index("video_id")
        seg = ds.df("segments").sort_values(["video_id", "start_frame"])
        rows = [(Path(v.at[vid, "path"]).name.split("__")[-1], v.at[vid, "exercise"], v.at[vid, "split"],
                 int(v.at[vid, "num_frames"]), tuple(zip(g["start_frame"], g["end_frame"])))
                for vid, g in seg.groupby("video_id")]
        return sorted(rows)

    assert reps(a) == reps(b) and len(reps(a)) == a.count("videos")


def test_hf_parquet_and_disk_load_with_typed_features_and_lose_nothing(sample, tmp_path, monkeypatch):
    import datasets

    from exporters.hf import to_tables

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    assert run_cli("import", "alex-gym-1", str(sample / "alex-gym-1"), "--name", "a")[0] == 0
    a = store.open_dataset("a")
    make_split(a)
    for fmt in ("hf-parquet", "hf-disk"):
        code, _, err = run_cli("export", "a", "--format", fmt, str(tmp_path / fmt), "--quiet")
        assert code == 0, err
    files = {s: str(tmp_path / "hf-parquet" / "data" / f"{s}-00000-of-00001.parquet")
             for s in ("train", "validation", "test")}
    loaded = datasets.load_dataset("parquet", data_files=files)
    saved = datasets.load_from_disk(str(tmp_path / "hf-disk"))
    for dd in (loaded, saved):
        assert sorted(dd) == ["test", "train", "validation"]
        feats = dd["train"].features
        assert isinstance(feats["exercise"], datasets.ClassLabel)
        assert feats["exercise"].names == ["deadlift", "lunge", "squat"]
        assert feats["poses"].feature["landmarks"] == datasets.List(datasets.Value("float32"))
        tables = to_tables(dd)
        for name in ("videos", "criteria", "scores", "poses"):
            x = frame(a.read(name), name, drop=())
            y = frame(tables[name], name, drop=())
            pd.testing.assert_frame_equal(x, y, check_dtype=False, obj=name)
    card = (tmp_path / "hf-parquet" / "README.md").read_text()
    assert "split: validation" in card and "data/validation-*.parquet" in card


def test_export_bad_input_is_one_line_and_leaves_nothing(sample, tmp_path, monkeypatch):
    assert run_cli("import", "alex-gym-1", str(sample / "alex-gym-1"), "--name", "a")[0] == 0
    out = tmp_path / "out"

    def fails(*args, message):
        code, _, err = run_cli("export", *args)
        assert code != 0 and message in err, err
        assert len(err.strip().splitlines()) == 1, err

    fails("a", "--format", "nosuch", str(out), message="unknown exporter 'nosuch'")
    fails("a", str(out), message="--format is required")
    fails("a", "--format", "hf-parquet", "--split", "test", str(out), message="default split of dataset 'a' is empty")
    fails("a", "--format", "hf-parquet", "--split", "nosuch:test", str(out), message="unknown split 'nosuch'")
    fails("a", "--format", "hf-parquet", "--split", "alex-authors:fold1", str(out), message="has no part 'fold1'")
    fails("a", "--format", "arrays", "-o", "frames=many", str(out), message="not a valid int")
    fails("a", "--format", "arrays", "-o", "colour=red", str(out), message="has no option 'colour'")
    fails("a", "--format", "arrays", "-o", "nokey", str(out), message="is not KEY=VALUE")
    fails("a", "--format", "scores-csv", str(out), message="no selected clip has a 'quality' score")
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    fails("a", "--format", "hf-parquet", str(out), message="output folder already exists")
    assert (out / "keep.txt").read_text() == "mine"
    code, _, err = run_cli("export", "a", "--format", "hf-parquet", "--split", "alex-authors:test", str(out),
                           "--overwrite", "--quiet")
    assert code == 0, err
    assert not (out / "keep.txt").exists() and [p.name for p in (out / "data").iterdir()] == [
        "test-00000-of-00001.parquet"]

    # an export interrupted half-way leaves neither OUT nor its temporary folder
    import exporters.alexgym

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(exporters.alexgym, "write_all_images", interrupted)
    code, _, err = run_cli("export", "a", "--format", "alex-gym-1", str(tmp_path / "half"), "--quiet")
    assert code == 130, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "store"]


def test_list_formats_names_every_format_and_its_options():
    code, out, _ = run_cli("export", "--list-formats")
    assert code == 0
    for fmt in ("alex-gym-1", "arrays", "fiftyone", "flex", "hf-disk", "hf-parquet", "repcount", "scores-csv"):
        assert f"{fmt}: " in out
    assert "-o frames=" in out and "-o layout=" in out
