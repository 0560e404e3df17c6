"""Schema round trip, schema checks on write, atomic commits, projection and filter pushdown."""

from __future__ import annotations

import datetime as dt
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gymdata import store
from gymdata.errors import DatasetExistsError, DatasetNotFoundError, SchemaError
from gymdata.schema import TABLES, describe


def video_row(i: int, **kw) -> dict:
    row = {"video_id": f"v{i}", "corpus": "videos", "path": f"squat/v{i}.mp4", "media_kind": "video",
           "exercise": "squat", "exercise_raw": "squats", "subject": f"s{i % 2}", "recording": f"r{i}",
           "view": "frontal", "rep_index": None, "fps": 30.0, "num_frames": 90, "width": 64, "height": 48,
           "duration": 3.0, "skill_level": None, "split": None, "extras": json.dumps({"k": i})}
    row.update(kw)
    return row


def pose_rows(video_id: str, n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"video_id": video_id, "frame": f, "layout": "blazepose33",
             "landmarks": rng.random(132).astype(np.float32).tolist(), "world": rng.random(99).tolist(),
             "detected": True, "source": "test"} for f in range(n)]


def test_every_column_has_a_description():
    for table in TABLES:
        for name, _type, _nullable, text in describe(table):
            assert text, f"{table}.{name} has no description"


def test_round_trip_keeps_values_and_types():
    with store.building("rt") as ds:
        rows = [video_row(i) for i in range(5)]
        poses = pose_rows("v0", 3)
        stamp = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)
        crit = [{"video_id": "v1", "criterion": "Feet Out 30 F", "view": "frontal", "value": 1.0, "passed": True,
                 "origin": "imported", "annotator": "alex", "created_at": stamp}]
        with ds.transaction() as txn:
            txn.write("videos", rows)
            txn.write("poses", poses)
            txn.write("criteria", crit)
    ds = store.open_dataset("rt")
    back = ds.read("videos")
    assert back.schema.equals(TABLES["videos"].schema, check_metadata=False)
    assert back.to_pylist() == pa.Table.from_pylist(rows, schema=TABLES["videos"].schema).to_pylist()
    lm = np.asarray(ds.read("poses").column("landmarks").to_pylist(), dtype=np.float32)
    np.testing.assert_array_equal(lm, np.asarray([p["landmarks"] for p in poses], dtype=np.float32))
    assert ds.read("criteria").to_pylist()[0]["created_at"] == stamp
    assert ds.row_counts() == {"videos": 5, "poses": 3, "criteria": 1}


def test_projection_and_filter_pushdown():
    with store.building("f") as ds:
        ds.write("videos", [video_row(i, exercise="lunge" if i % 2 else "squat") for i in range(10)])
    ds = store.open_dataset("f")
    got = ds.read("videos", columns=["video_id"], filter={"exercise": "lunge"})
    assert got.column_names == ["video_id"]
    assert got.column("video_id").to_pylist() == ["v1", "v3", "v5", "v7", "v9"]
    got = ds.read("videos", columns=["video_id"], filter={"video_id": ["v0", "v2"]})
    assert got.num_rows == 2


@pytest.mark.parametrize("bad, message", [
    ({"media_kind": "gif"}, "invalid value"),
    ({"fps": "fast"}, "cannot store"),
    ({"video_id": None}, "null value"),
    ({"colour": "red"}, "has no column"),
])
def test_schema_is_checked_on_write(bad, message):
    with store.building("s") as ds:
        with pytest.raises(SchemaError, match=message):
            ds.write("videos", [video_row(0, **bad)])


def test_missing_required_column_is_refused():
    row = video_row(0)
    del row["corpus"]
    with pytest.raises(SchemaError, match="required column 'corpus'"):
        store.conform("videos", [row])


def test_interrupted_write_leaves_old_table_intact(monkeypatch):
    with store.building("a") as ds:
        ds.write("videos", [video_row(0)])
    ds = store.open_dataset("a")
    before = ds.read("videos")

    real_write = pq.write_table

    def dies_midway(table, where, **kw):  # writes half a file, then the process "dies"
        real_write(table, where, **kw)
        with open(where, "r+b") as fh:
            fh.truncate(os.path.getsize(where) // 2)
        raise KeyboardInterrupt

    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(pq, "write_table", dies_midway)
        ds.write("videos", [video_row(i) for i in range(3)])
    again = store.open_dataset("a")
    assert again.read("videos").equals(before)
    assert [p.name for p in (again.path / "tables" / "videos").iterdir()] == again.meta["tables"]["videos"]["parts"]


def test_crash_before_metadata_commit_keeps_old_version(monkeypatch):
    with store.building("b") as ds:
        ds.write("videos", [video_row(0)])
    ds = store.open_dataset("b")

    def crash(*a, **k):
        raise OSError("disk full")

    with monkeypatch.context() as m, pytest.raises(OSError):
        m.setattr(store, "atomic_write_bytes", crash)
        ds.append("videos", [video_row(1)])
    again = store.open_dataset("b")
    assert again.count("videos") == 1 and again.read("videos").num_rows == 1
    # the orphan part written before the crash is collected by the next commit
    again.append("videos", [video_row(2)])
    assert len(list((again.path / "tables" / "videos").iterdir())) == 2


def test_failed_build_leaves_nothing(isolated_store):
    with pytest.raises(RuntimeError):
        with store.building("c") as ds:
            ds.write("videos", [video_row(0)])
            raise RuntimeError("importer failed")
    assert not store.exists("c")
    assert [p for p in isolated_store.iterdir() if p.name != store.LOCKS] == []  # the lock file stays


def test_create_writes_tables_attachments_and_source_in_one_step():
    ds = store.create("e", {"videos": [video_row(0), video_row(1)]}, attachments={"notes.json": {"a": 1}},
                      source={"corpus": "fake", "root": "/x", "importer": "t", "version": "1"})
    assert ds.count("videos") == 2 and json.loads(ds.attachment("notes.json").read_text()) == {"a": 1}
    assert [(s["corpus"], s["root"]) for s in ds.meta["sources"]] == [("fake", "/x")]
    with pytest.raises(DatasetExistsError):
        store.create("e", {"videos": [video_row(2)]})
    assert store.create("e", {"videos": [video_row(2)]}, overwrite=True).count("videos") == 1
    with pytest.raises(Exception):  # a bad table leaves the dataset as it was
        store.create("e", {"no_such_table": []}, overwrite=True)
    assert store.open_dataset("e").count("videos") == 1


def test_building_refuses_existing_unless_overwrite():
    with store.building("d") as ds:
        ds.write("videos", [video_row(0)])
    with pytest.raises(DatasetExistsError):
        with store.building("d"):
            pass
    with store.building("d", overwrite=True) as ds:
        ds.write("videos", [video_row(1), video_row(2)])
    assert store.open_dataset("d").count("videos") == 2


def test_append_and_attachment():
    with store.building("e") as ds:
        with ds.transaction() as txn:
            txn.write("videos", [video_row(0), video_row(1)])
            txn.put_attachment("kg.json", {"actions": []})
        ds.append("poses", pose_rows("v0", 2))
        ds.append("poses", pose_rows("v1", 3))
    ds = store.open_dataset("e")
    assert ds.count("poses") == 5 and ds.read("poses").num_rows == 5
    assert json.loads(ds.attachment("kg.json").read_text()) == {"actions": []}


def test_open_unknown_dataset_names_the_known_ones():
    with store.building("known") as ds:
        ds.write("videos", [video_row(0)])
    with pytest.raises(DatasetNotFoundError, match="known datasets: known"):
        store.open_dataset("nope")


def test_home_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GYMDATA_HOME", str(tmp_path / "elsewhere"))
    assert store.home() == tmp_path / "elsewhere"
    monkeypatch.delenv("GYMDATA_HOME")
    assert store.home() == (store.Path.cwd() / "gymdata-data")


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "sp ace"])
def test_invalid_dataset_names(name):
    with pytest.raises(SchemaError):
        store.check_name(name)
