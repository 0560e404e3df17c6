"""Hostile and careless input: what a malicious file, a wrong path, a full or read-only disk, a damaged
store or run, an interrupted or concurrent run does. Every case ends in one line naming the file and
the fix, a non-zero exit, and nothing half-written; no file handed to gymdata runs code.

Disk-full and read-only cases use a small tmpfs (root only: skipped otherwise). All inputs are
made by the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gymdata import store
from tests.baselines_support import write_export
from tests.conftest import run_cli, write_video

ROOT = Path(__file__).resolve().parents[1]


# -- helpers ------------------------------------------------------------------------------------------


def one_line_error(code: int, err: str, *needles: str) -> str:
    """Assert a failed command ended with exactly one error line (progress lines before it are
    allowed), without a traceback, containing ``needles``."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code != 0, err
    assert "Traceback" not in err, err
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def make_videos_root(root: Path, names: list[str] | None = None, frames: int = 6) -> Path:
    """A folder of tiny clips in exercise folders (squat/...)."""
    for name in names or ["squat/a.mp4", "squat/b.mp4"]:
        write_video(root / name, frames=frames)
    return root


def import_videos(root: Path, name: str = "ds", *extra: str) -> tuple[int, str, str]:
    return run_cli("import", "videos", str(root), "--name", name, "-j", "1", "--quiet", *extra)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name) if folder.is_dir() else []


def age(path: Path, seconds: float = 3600) -> None:
    """Make ``path`` look ``seconds`` old (a leftover of a run killed long ago)."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (2 MB) and yield it; skipped where mounting is not allowed (not root)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if not is_root() or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                       capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> None:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "filler.bin", "wb") as fh:
        fh.write(b"\0" * max(free - leave, 0))


def remount_ro(mnt: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True, capture_output=True)


# -- security: checkpoints, configs ----------------------------------------------------------------------


class Evil:
    """Unpickling this runs a shell command (what a hostile checkpoint does)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A tiny trained bilstm run (a real config.json and checkpoints) to tamper with."""
    root = tmp_path_factory.mktemp("hostile-run")
    export = write_export(root / "arrays")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GYMDATA_HOME", str(root / "store"))
        code, _, err = run_cli("train", "bilstm", "--hidden", "8", "--data", str(export), "--epochs", "1",
                               "--batch-size", "8", "--device", "cpu", "--run-id", "good")
        assert code == 0, err
    return root / "store" / "runs" / "good"


@pytest.fixture
def run_copy(trained_run, isolated_store) -> Path:
    """The trained run copied into this test's store."""
    dst = isolated_store / "runs" / "copy"
    shutil.copytree(trained_run, dst)
    return dst


def test_malicious_checkpoint_never_runs_code(run_copy, tmp_path):
    import torch

    marker = tmp_path / "pwned"
    for name in ("best.pt", "last.pt"):
        torch.save({"model": Evil(marker)}, run_copy / name)
    # the file is really hostile: a plain unpickling would run the command
    torch.load(run_copy / "best.pt", weights_only=False)
    assert marker.exists()
    marker.unlink()
    video = write_video(tmp_path / "v.mp4", frames=8)
    for args in (["evaluate", "copy"], ["score", str(video), "--run", "copy", "--out", str(tmp_path / "o")],
                 ["export-model", "copy", "--onnx", "--out", str(tmp_path / "m.onnx")],
                 ["train", "bilstm", "--resume", "copy", "--epochs", "2"]):
        code, _, err = run_cli(*args)
        one_line_error(code, err, "not safe to load")
        assert not marker.exists(), args


def test_malicious_config_module_is_never_imported(run_copy, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "evil_gymdata_plugin.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = json.loads((run_copy / "config.json").read_text())
    config["module"] = "evil_gymdata_plugin"  # the model class comes from the registry, not from here
    (run_copy / "config.json").write_text(json.dumps(config))
    code, out, err = run_cli("evaluate", "copy")
    assert code == 0, err
    assert not marker.exists()
    config["model"] = "evil_gymdata_plugin"
    (run_copy / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli("evaluate", "copy")
    one_line_error(code, err, "not an installed model", "config.json")
    assert not marker.exists()
    assert "evil_gymdata_plugin" not in sys.modules


def test_library_has_no_unsafe_deserialisation():
    """No pickle of untrusted files anywhere in the library."""
    bad = []
    for package in ("gymdata", "importers", "exporters", "annotators", "baselines"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for needle in ("weights_only=False", "allow_pickle=True", "pickle.load", "pickle.loads("):
                if needle in text:
                    bad.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not bad, bad


def test_damaged_run_files(run_copy, tmp_path):
    (run_copy / "best.pt").write_bytes((run_copy / "best.pt").read_bytes()[:200])  # truncated
    code, _, err = run_cli("evaluate", "copy")
    one_line_error(code, err, "best.pt", "checkpoint is damaged")
    (run_copy / "best.pt").write_bytes(b"garbage, not a checkpoint" * 10)
    code, _, err = run_cli("evaluate", "copy")
    line = one_line_error(code, err, "best.pt", "checkpoint is damaged")
    assert "weights_only" not in line  # torch's advice to load it unsafely is not passed on
    (run_copy / "config.json").write_text("{not json")
    code, _, err = run_cli("evaluate", "copy")
    one_line_error(code, err, "config.json", "damaged")
    # a gmm run whose model.npz is damaged
    gmm = run_copy.parent / "counter"
    gmm.mkdir()
    (gmm / "config.json").write_text(json.dumps({"model": "gmm", "run_id": "counter", "params": {},
                                                 "exercises": ["squat"]}))
    (gmm / "model.npz").write_bytes(b"PK\x03\x04 not really a zip")
    video = write_video(tmp_path / "v.mp4", frames=8)
    code, _, err = run_cli("count", str(video), "--run", "counter")
    one_line_error(code, err, "counter", "damaged")
    # and a learned counter's (poserac) run missing its model.npz
    learned = run_copy.parent / "learned"
    learned.mkdir()
    (learned / "config.json").write_text(json.dumps({"model": "poserac", "run_id": "learned", "params": {},
                                                     "exercises": ["squat"], "views": ["raw"]}))
    code, _, err = run_cli("count", str(video), "--run", "learned")
    one_line_error(code, err, "learned", "damaged or missing", "gymdata train poserac")


# -- paths and names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", ["../outside/x.mp4", "../../../../etc/passwd", "/etc/passwd", "squat/../../x.mp4"])
def test_csv_paths_stay_inside_the_root(tmp_path, rel, isolated_store):
    root = make_videos_root(tmp_path / "root")
    write_video(tmp_path / "outside" / "x.mp4")
    (root / "squat_scores.csv").write_text(f"relative_path,score\nsquat/a.mp4,50\n{rel},80\n")
    code, _, err = import_videos(root)
    one_line_error(code, err, "squat_scores.csv:3", "outside" if not rel.startswith("/") else "absolute")
    assert not store.exists("ds") and not leftovers(isolated_store)


def test_meta_sidecar_paths_stay_inside_the_root(tmp_path):
    root = make_videos_root(tmp_path / "root")
    meta = tmp_path / "meta.csv"
    meta.write_text("relative_path,subject\nsquat/a.mp4,s1\n../escape.mp4,s2\n")
    code, _, err = import_videos(root, "ds", "--meta", str(meta))
    one_line_error(code, err, "meta.csv:3", "outside")


def test_a_tampered_store_path_is_not_followed(tmp_path):
    root = make_videos_root(tmp_path / "root")
    assert import_videos(root)[0] == 0
    ds = store.open_dataset("ds")
    with pytest.raises(Exception, match="outside"):
        ds.resolve("videos", "../../etc/passwd")


@pytest.mark.parametrize("run_id", ["../../escaped-run", "/tmp/escaped-abs", "a/b", "..", ".hidden"])
def test_run_ids_are_plain_names(tmp_path, run_id, isolated_store):
    export = write_export(tmp_path / "arrays", units=6)
    code, _, err = run_cli("train", "bilstm", "--data", str(export), "--epochs", "1", "--device", "cpu",
                           "--run-id", run_id)
    one_line_error(code, err, "run id", "not a plain name")
    code, _, err = run_cli("train", "gmm", "--data", "nothing", "--run-id", run_id)
    one_line_error(code, err, "not a plain name")
    assert not (tmp_path / "escaped-run").exists() and not Path("/tmp/escaped-abs").exists()
    assert not (isolated_store / "runs").exists() or not any((isolated_store / "runs").iterdir())


# -- output folders: the --overwrite guard -------------------------------------------------------------------


@pytest.fixture
def imported(tmp_path, isolated_store) -> Path:
    """Dataset 'ds' imported from tmp_path/root; returns the root."""
    root = make_videos_root(tmp_path / "root")
    code, _, err = import_videos(root)
    assert code == 0, err
    return root


def test_overwrite_never_deletes_the_store_or_the_sources(imported, isolated_store, tmp_path):
    before = sorted(p.relative_to(isolated_store) for p in isolated_store.rglob("*"))
    for out, why in ((isolated_store, "store"), (isolated_store / "ds", "store"), (imported, "input root"),
                     (imported / "squat", "input root"), (tmp_path, "store")):
        code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(out), "--overwrite", "--quiet")
        one_line_error(code, err, why)
        code, _, err = run_cli("sample", str(out), "--overwrite", "--subjects", "1", "--takes", "1")
        one_line_error(code, err, why)
    assert sorted(p.relative_to(isolated_store) for p in isolated_store.rglob("*")) == before
    assert (imported / "squat" / "a.mp4").is_file() and (imported / "squat" / "b.mp4").is_file()


def test_report_never_replaces_the_store_a_source_or_a_foreign_folder(imported, isolated_store, tmp_path):
    for out, why in ((isolated_store, "store"), (imported, "input root"), (tmp_path, "store")):
        code, _, err = run_cli("report", "ds", "--out", str(out), "--overwrite")
        one_line_error(code, err, why)
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "thesis.tex").write_text("mine")
    code, _, err = run_cli("report", "ds", "--out", str(docs))
    one_line_error(code, err, "pass --overwrite")
    code, _, err = run_cli("report", "ds", "--out", str(docs), "--overwrite")
    one_line_error(code, err, "not a gymdata report")
    assert (docs / "thesis.tex").read_text() == "mine" and (imported / "squat" / "a.mp4").is_file()
    assert (isolated_store / "ds" / "dataset.json").is_file()


def test_overwrite_refuses_a_folder_that_holds_a_dataset(imported, tmp_path):
    other = tmp_path / "other-store"
    (other / "old").mkdir(parents=True)
    (other / "old" / "dataset.json").write_text("{}")
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(other), "--overwrite", "--quiet")
    one_line_error(code, err, "holds a dataset")
    assert (other / "old" / "dataset.json").is_file()


def test_export_into_the_store_is_refused_without_overwrite(imported, isolated_store):
    target = isolated_store / "ds" / "tables" / "export"
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(target), "--quiet")
    one_line_error(code, err, "inside the store")
    assert not target.exists() and not leftovers(target.parent)
    code, _, err = run_cli("validate", "ds", "--no-media")
    assert code == 0, err


def test_only_a_folder_under_the_stores_exports_folder_takes_an_export(imported, isolated_store):
    exports = isolated_store / "exports"
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(exports), "--overwrite", "--quiet")
    one_line_error(code, err, "inside the store")  # the exports folder itself is the store's, never replaced
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(exports / "ds-hf"), "--quiet")
    assert code == 0, err
    assert (exports / "ds-hf").is_dir() and (isolated_store / "ds" / "dataset.json").is_file()
    code, _, err = run_cli("import", "videos", str(imported), "--name", "Exports", "--quiet")
    one_line_error(code, err, "reserved")  # no dataset can take the exports folder's name
    code, _, err = run_cli("report", "ds", "--out", str(isolated_store / "reports" / "ds"))
    assert code == 0, err
    code, _, err = run_cli("report", "ds", "--out", str(isolated_store / "reports"))
    one_line_error(code, err, "inside the store")


def test_sample_bad_arguments_are_one_line(tmp_path):
    code, _, err = run_cli("sample", str(tmp_path / "s"), "--subjects", "0")
    assert code == 2 and "--subjects" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_gmm_refuses_an_existing_run(isolated_store):
    run = isolated_store / "runs" / "mine"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    code, _, err = run_cli("train", "gmm", "--data", "anything", "--run-id", "mine")
    one_line_error(code, err, "run 'mine' exists")
    assert (run / "config.json").read_text() == "{}"


def test_save_run_is_atomic_and_concurrent_runs_do_not_mix(isolated_store):
    from baselines.runs import save_run

    errors, done = [], []

    def save(k: int) -> None:
        try:
            done.append(save_run("same", {"model": "gmm", "k": k}, {}, {"a": np.full(1000, k)}))
        except Exception as exc:  # noqa: BLE001 - the loser's error is what is checked
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 1 and len(errors) == 3 and all("exists" in str(e) for e in errors)
    k = json.loads((done[0] / "config.json").read_text())["k"]
    with np.load(done[0] / "model.npz") as npz:
        assert (npz["a"] == k).all()  # the files of one run, never a mix
    assert not leftovers(isolated_store / "runs")


def test_a_failed_train_leaves_no_run(tmp_path, isolated_store):
    export = write_export(tmp_path / "arrays", units=6, parts=("val", "test"))  # no training part
    code, _, err = run_cli("train", "vcoach", "--data", str(export), "--epochs", "1", "--device", "cpu",
                           "--run-id", "broken")
    one_line_error(code, err, "no 'train' units")
    from baselines.runs import list_runs

    assert not (isolated_store / "runs" / "broken").exists() and list_runs() == []
    # a folder with only config.json (a run killed before its first epoch) is not listed
    (isolated_store / "runs" / "killed").mkdir(parents=True)
    (isolated_store / "runs" / "killed" / "config.json").write_text("{}")
    assert list_runs() == []
    code, _, err = run_cli("train", "vcoach", "--data", str(export), "--epochs", "1", "--device", "cpu",
                           "--run-id", "killed")
    one_line_error(code, err, "never saved a checkpoint", "remove that folder")


# -- interrupted and concurrent runs: leftovers ------------------------------------------------------


def test_leftovers_of_killed_exports_and_imports_are_removed(imported, isolated_store, tmp_path):
    out = tmp_path / "exports" / "hf"
    out.parent.mkdir()
    old_export = out.parent / ".hf.tmp-deadbeef"
    old_import = isolated_store / ".ds2.tmp-deadbeef"
    young = out.parent / ".hf.tmp-cafe0001"  # a concurrent run's work folder: kept
    for folder in (old_export, old_import, young):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "junk").write_bytes(b"x" * 100)
    for p in (old_export, old_export / "sub", old_import, old_import / "sub"):
        age(p)
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(out), "--quiet")
    assert code == 0, err
    assert leftovers(out.parent) == [young.name]
    code, _, err = import_videos(imported, "ds2")
    assert code == 0, err
    assert leftovers(isolated_store) == []


@pytest.mark.slow
def test_killed_sample_run_is_cleaned_by_the_next(tmp_path):
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "gymdata.cli", "sample", str(out), "--subjects", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    left = [tmp_path / name for name in leftovers(tmp_path)]
    assert left and not out.exists()
    for p in left:
        age(p)
    code, _, err = run_cli("sample", str(out), "--subjects", "1", "--takes", "1")
    assert code == 0, err
    assert leftovers(tmp_path) == []


# -- OS errors: full disk, read-only, names ---------------------------------------------------------------


def test_disk_full_during_export_copy_and_arrays(imported, tmpfs):
    fill(tmpfs, leave=16 * 1024)
    for fmt, extra in (("fiftyone", []), ("arrays", ["-o", "frames=16", "-o", "size=112"]),
                       ("hf-parquet", [])):
        out = tmpfs / fmt
        code, _, err = run_cli("export", "ds", "--format", fmt, str(out), "--quiet", "-j", "2", *extra)
        if code == 0:  # small enough to fit: only the formats that need the space must fail
            assert fmt == "hf-parquet", err
            continue
        one_line_error(code, err, "no space left", str(tmpfs))
        assert not out.exists() and leftovers(tmpfs) == []


def test_disk_full_during_sample(tmpfs):
    code, _, err = run_cli("sample", str(tmpfs / "s"), "--subjects", "1", "--takes", "1")
    one_line_error(code, err, "no space left", str(tmpfs))
    assert not (tmpfs / "s").exists() and leftovers(tmpfs) == []


def test_disk_full_store_during_import_and_pose_cache(tmp_path, tmpfs, monkeypatch):
    root = make_videos_root(tmp_path / "root")
    monkeypatch.setenv("GYMDATA_HOME", str(tmpfs / "store"))
    (tmpfs / "store").mkdir()
    fill(tmpfs, leave=0)
    code, _, err = import_videos(root)
    one_line_error(code, err, "no space left", str(tmpfs))
    (tmpfs / "filler.bin").unlink()
    assert not store.list_datasets() and leftovers(tmpfs / "store") == []


@pytest.mark.slow
def test_disk_full_during_pose_then_a_damaged_cache_entry(tmp_path, tmpfs, monkeypatch):
    root = make_videos_root(tmp_path / "root", frames=20)
    monkeypatch.setenv("GYMDATA_HOME", str(tmpfs / "store"))
    assert import_videos(root)[0] == 0
    fill(tmpfs, leave=0)
    code, _, err = run_cli("pose", "ds", "-j", "1", "--quiet")
    line = one_line_error(code, err, "no space left", str(tmpfs))
    assert "Exception ignored" not in err, line
    (tmpfs / "filler.bin").unlink()
    code, out, err = run_cli("pose", "ds", "-j", "1", "--quiet")  # the same command finishes the job
    assert code == 0, err
    assert run_cli("validate", "ds", "--no-media")[0] == 0
    # a truncated cache entry (a copy killed half-way) is computed again, not a permanent failure
    entries = sorted((tmpfs / "store" / "cache" / "pose").rglob("*.npz"))
    assert entries
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:64])
    assert import_videos(root, "again")[0] == 0
    code, out, err = run_cli("pose", "again", "-j", "1", "--quiet")
    assert code == 0, err
    import re

    extracted = int(re.search(r"(\d+) extracted", out).group(1))
    assert extracted >= 1 and "0 failed" in out, out  # (the two clips are the same bytes: one key, 1 or 2 runs)
    for entry in entries:
        with np.load(entry) as npz:  # rewritten whole
            assert "landmarks" in npz.files


def test_read_only_store_and_output(imported, isolated_store, tmpfs, tmp_path, monkeypatch):
    # a read-only output folder
    remount_ro(tmpfs)
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(tmpfs / "out"), "--quiet")
    one_line_error(code, err, "read-only file system", str(tmpfs))
    # a read-only store
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    shutil.copytree(isolated_store, tmpfs / "store")
    remount_ro(tmpfs)
    monkeypatch.setenv("GYMDATA_HOME", str(tmpfs / "store"))
    code, _, err = import_videos(imported, "another")
    one_line_error(code, err, "read-only file system")
    code, out, err = run_cli("info", "ds")  # reading still works
    assert code == 0, err


def test_name_too_long_and_odd_names(tmp_path, isolated_store):
    root = tmp_path / "root"
    names = ["squat/with space ü 日本.mp4", "squat/" + "x" * 200 + ".mp4", "squat/#hash;semi'quote.mp4"]
    make_videos_root(root, names)
    code, out, err = import_videos(root)
    assert code == 0, err
    assert store.open_dataset("ds").count("videos") == 3
    long_out = tmp_path / ("o" * 300)
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(long_out), "--quiet")
    one_line_error(code, err, "name too long")


def test_non_utf8_file_name_and_csv(tmp_path):
    root = make_videos_root(tmp_path / "root")
    raw = os.fsencode(str(root / "squat")) + b"/bad-\xff-name.mp4"
    shutil.copy(root / "squat" / "a.mp4", raw)
    (root / "squat_scores.csv").write_bytes("relative_path,score\nsquat/a.mp4,50\nsquat/é.mp4,1\n".encode("latin-1"))
    code, _, err = import_videos(root)
    one_line_error(code, err, "squat_scores.csv", "UTF-8")
    (root / "squat_scores.csv").unlink()
    code, out, err = import_videos(root)  # the store keeps UTF-8 names: the file is named, escaped
    one_line_error(code, err, "bad-\\xff-name.mp4", "not valid UTF-8")


def test_a_dead_worker_process_is_named_not_a_broken_pool():
    import signal

    from gymdata.errors import GymdataError
    from gymdata.runner import run_tasks

    with pytest.raises(GymdataError, match=r"worker process died \(SIGKILL.*-j 1"):
        list(run_tasks(signal.raise_signal, [signal.SIGKILL] * 4, workers=2, progress=False))


# -- damaged store and cache ----------------------------------------------------------------------------


def test_damaged_dataset_json_is_one_line_and_hides_no_other(imported, isolated_store):
    shutil.copytree(isolated_store / "ds", isolated_store / "zz")
    meta = json.loads((isolated_store / "zz" / "dataset.json").read_text())
    meta["name"] = "zz"
    (isolated_store / "zz" / "dataset.json").write_text(json.dumps(meta))
    (isolated_store / "ds" / "dataset.json").write_text('{"name": "ds", "tab')
    code, out, err = run_cli("list")
    assert code == 0 and "zz" in out and "DAMAGED" in out and "dataset.json is damaged" in err
    code, _, err = run_cli("info", "ds")
    one_line_error(code, err, "dataset.json", "damaged")
    code, _, err = run_cli("export", "ds", "--format", "hf-parquet", str(isolated_store.parent / "o"), "--quiet")
    one_line_error(code, err, "dataset.json")
    code, out, err = run_cli("remove", "ds", "--yes")  # a damaged dataset can still be removed
    assert code == 0 and not (isolated_store / "ds").exists(), err


@pytest.mark.parametrize("damage", ["garbage", "missing", "truncated"])
def test_damaged_or_missing_parquet_part(imported, isolated_store, damage):
    parts = sorted((isolated_store / "ds" / "tables" / "videos").glob("part-*.parquet"))
    if damage == "missing":
        parts[0].unlink()
    elif damage == "garbage":
        parts[0].write_bytes(b"not parquet at all" * 10)
    else:
        parts[0].write_bytes(parts[0].read_bytes()[:-40])
    code, _, err = run_cli("info", "ds")
    one_line_error(code, err, "videos", "gymdata validate ds")
    code, _, err = run_cli("validate", "ds")
    assert code != 0 and "Traceback" not in err


def test_truncated_pose_cache_entry_is_recomputed(tmp_path):
    from gymdata.cache import ResultCache

    cache = ResultCache(tmp_path / "cache")
    cache.save("ab" * 10, {"x": np.arange(1000)})
    path = cache.path("ab" * 10)
    path.write_bytes(path.read_bytes()[:100])
    assert cache.load("ab" * 10) is None and not path.exists()  # dropped: the next run computes it again
    cache.save("ab" * 10, {"x": np.arange(3)})
    assert cache.load("ab" * 10)["x"].tolist() == [0, 1, 2]


# -- wrong answers with exit 0 ----------------------------------------------------------------------------


def test_no_readable_video_lists_the_reasons(tmp_path):
    root = tmp_path / "root"
    (root / "squat").mkdir(parents=True)
    (root / "squat" / "empty.mp4").write_bytes(b"")
    (root / "squat" / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(2_000_000))  # big garbage
    code, _, err = import_videos(root)
    line = one_line_error(code, err, "none of the videos could be read (2 tried)", "squat/empty.mp4", "squat/noise.mp4")
    assert "see the errors above" not in line


def test_validation_failure_during_import_names_the_input(tmp_path):
    root = make_videos_root(tmp_path / "root")
    meta = tmp_path / "meta.csv"
    meta.write_text("relative_path,view\nsquat/a.mp4,sideways\n")
    code, _, err = import_videos(root, "ds", "--meta", str(meta))
    line = one_line_error(code, err, "a.mp4", "videos.view", "no dataset was created")
    assert "gymdata validate" not in line and not store.exists("ds")


def test_duplicate_csv_rows(tmp_path):
    root = make_videos_root(tmp_path / "root")
    csv = root / "squat_scores.csv"
    csv.write_text("relative_path,score\nsquat/a.mp4,50\nsquat/b.mp4,60\nsquat/a.mp4,90\n")
    code, _, err = import_videos(root)
    one_line_error(code, err, "squat/a.mp4 is listed twice", "line 2", "line 4")
    csv.write_text("relative_path,score\nsquat/a.mp4,50\nsquat/b.mp4,60\n./squat/a.mp4,50\n")
    code, _, err = import_videos(root)  # identical rows are collapsed
    assert code == 0, err
    assert sorted(store.open_dataset("ds").df("scores")["value"]) == [50.0, 60.0]


def test_permission_denied_video_says_so(tmp_path):
    from gymdata.errors import GymdataError
    from gymdata.media import probe_video

    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="gymdata-locked-"))  # /tmp/pytest-of-root is root-only: use /tmp
    folder.chmod(0o755)
    video = write_video(folder / "v.mp4")
    video.chmod(0)
    if is_root():  # root reads anything: probe as 'nobody' for a moment
        import av  # noqa: F401 - loaded while still root

        os.seteuid(65534)
    try:
        with pytest.raises(GymdataError) as info:
            probe_video(video)
    finally:
        if is_root() or os.getuid() == 0:
            os.seteuid(0)
    shutil.rmtree(folder)
    assert "permission denied" in str(info.value) and "re-encode" not in str(info.value)
    assert "v.mp4" in str(info.value)


# -- FiftyOne: one database service per database folder ----------------------------------------------------


@pytest.mark.slow
def test_app_refuses_a_database_service_of_another_folder(tmp_path):
    pytest.importorskip("fiftyone")
    other = tmp_path / "other-db"
    child = "import time; time.sleep(120)"
    parent = (f"import subprocess, sys, time\np = subprocess.Popen([sys.executable, '-c', {child!r}, '--dbpath', "
              "sys.argv[1]])\ntry:\n    time.sleep(120)\nfinally:\n    p.kill()\n")
    # looks like FiftyOne's database service (service/main.py --51-service db --multi) and its mongod
    fake = subprocess.Popen([sys.executable, "-c", parent, str(other), "--51-service", "db", "--multi"],
                            start_new_session=True)
    try:
        time.sleep(1.0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIFTYONE_DATABASE")}
        env.update(FIFTYONE_DATABASE_DIR=str(tmp_path / "mine"), FIFTYONE_DO_NOT_TRACK="true",
                   GYMDATA_HOME=str(tmp_path / "store"))
        done = subprocess.run([sys.executable, "-m", "gymdata.cli", "app", "nothing"], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=180)
        # (another test's real service may be named instead of ours: any other folder must stop it)
        one_line_error(done.returncode, done.stderr, "already runs for", "FIFTYONE_DATABASE_DIR", "kill")
        assert not (tmp_path / "mine").exists()  # nothing was started for our folder
    finally:
        os.killpg(fake.pid, 9)
        fake.wait()
