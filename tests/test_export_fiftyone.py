"""The FiftyOne exporter: a FiftyOneDataset directory that FiftyOne loads back with every label.

FiftyOne needs a database: the export and the read-back run in one child process with a private
``FIFTYONE_DATABASE_DIR`` (FiftyOne starts its bundled mongod there and stops it on exit), so this
test neither sees nor touches any other FiftyOne database of the test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from gymdata import labels, store
from tests.conftest import run_cli

pytest.importorskip("fiftyone")

READ_BACK = textwrap.dedent("""
    import sys
    from pathlib import Path
    import fiftyone as fo
    from exporters.fiftyone_dir import to_tables
    from gymdata import store
    from gymdata.cli import main

    out = Path(sys.argv[1])
    try:
        main(["export", "a", "--format", "fiftyone", "--split", "test", str(out / "fo"), "--quiet", "-j", "1"])
    except SystemExit as exc:
        if exc.code:
            raise
    dataset = fo.Dataset.from_dir(str(out / "fo"), dataset_type=fo.types.FiftyOneDataset)
    assert dataset.media_type == "video", dataset.media_type
    assert all(Path(s.filepath).is_file() and str(out / "fo") in s.filepath for s in dataset)
    for name, table in to_tables(dataset).items():
        table.to_pandas().to_parquet(out / f"{name}.parquet")
    dataset.delete()
""")


@pytest.mark.slow
def test_fiftyone_dataset_dir_round_trip(tmp_path, make_video):
    for take in ("t1", "t2", "t3"):
        for view in ("frontal", "lateral"):
            make_video(tmp_path / "src" / "squat" / f"{take}_{view}.mp4", frames=10)
    meta = tmp_path / "meta.csv"
    meta.write_text("relative_path,subject,view,recording\n" + "".join(
        f"squat/{t}_{v}.mp4,s-{t},{v},{t}\n" for t in ("t1", "t2", "t3") for v in ("frontal", "lateral")))
    assert run_cli("import", "videos", str(tmp_path / "src"), "--name", "a", "--meta", str(meta), "--quiet")[0] == 0
    ds = store.open_dataset("a")
    stamp = store.now()
    ids = ds.df("videos")["video_id"].tolist()
    ds.append("criteria", [{"video_id": v, "criterion": "Depth L", "view": "lateral", "value": 1.0,
                            "passed": i % 2 == 0, "origin": "imported", "annotator": "test", "created_at": stamp}
                           for i, v in enumerate(ids)])
    ds.append("scores", [{"video_id": v, "name": "quality", "value": 10.0 * i, "scale_min": 0.0, "scale_max": 100.0,
                          "origin": "human", "annotator": "ann", "created_at": stamp} for i, v in enumerate(ids)])
    ds.append("segments", [{"video_id": v, "kind": "repetition", "label": "rep", "start_frame": 2, "end_frame": 7,
                            "origin": "imported", "annotator": "test", "created_at": stamp} for v in ids])
    # predictions (gymdata count --write): never part of the exported ground truth
    ds.append("segments", [{"video_id": v, "kind": "repetition", "label": "rep", "start_frame": 1, "end_frame": 3,
                            "origin": "model", "annotator": "periodic", "created_at": store.now()} for v in ids])
    assert run_cli("split", "a", "--ratios", "0.34,0.33,0.33")[0] == 0
    env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp_path / "db"), "FIFTYONE_DO_NOT_TRACK": "true",
           "FIFTYONE_DATABASE_VALIDATION": "false"}
    env.pop("FIFTYONE_DATABASE_URI", None)
    proc = subprocess.run([sys.executable, "-c", READ_BACK, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ds.reload()  # the split command rewrote the videos table

    test_ids = ds.df("videos", filter={"split": "test"})["video_id"].tolist()
    assert len(test_ids) == 2
    for name, cols in (("videos", ["video_id", "corpus", "exercise", "subject", "recording", "view", "split", "fps",
                                   "num_frames", "extras"]),
                       ("criteria", ["video_id", "criterion", "view", "value", "passed", "origin", "annotator"]),
                       ("scores", ["video_id", "name", "value", "scale_min", "scale_max", "origin", "annotator"]),
                       ("segments", ["video_id", "kind", "label", "start_frame", "end_frame", "origin", "annotator"])):
        table = ds.df(name, filter={"video_id": test_ids}) if name == "videos" else labels.current(ds, name,
                                                                                                  video_ids=test_ids)
        expected = table[cols].sort_values(cols[:2]).reset_index(drop=True)
        got = pd.read_parquet(tmp_path / f"{name}.parquet")[cols].sort_values(cols[:2]).reset_index(drop=True)
        pd.testing.assert_frame_equal(expected, got, check_dtype=False, obj=name)
        assert name == "videos" or "model" not in set(got["origin"])
