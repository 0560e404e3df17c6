"""``gymdata report``: one self-contained HTML page with the plots, and the PNGs beside it."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from gymdata.sample import generate_sample
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "s"
    generate_sample(out, seed=2, subjects=3, takes=1, reps=(2, 3), size=64, fps=10)
    return out


def test_report_of_a_labelled_dataset(sample, tmp_path):
    assert run_cli("import", "alex-gym-1", str(sample / "alex-gym-1"), "--name", "a")[0] == 0
    assert run_cli("split", "a")[0] == 0
    code, out, err = run_cli("report", "a", "--out", str(tmp_path / "rep"))
    assert code == 0 and "index.html" in out, err
    page = (tmp_path / "rep" / "index.html").read_text()
    for heading in ("Clips", "Subjects", "Labels", "Pose quality", "Repetitions", "Leakage"):
        assert f"<h2>{heading}</h2>" in page
    pngs = sorted(p.name for p in (tmp_path / "rep").glob("*.png"))
    assert pngs == ["clips.png", "criteria.png", "poses.png", "repetitions.png", "scores.png", "subjects.png"]
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == len(pngs)
    for data in embedded:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            assert img.format == "PNG" and img.width > 400 and img.height > 150
    # the default split does not leak; the authors' split does, and says so
    assert "no leakage" in page and "<h3>alex-authors</h3>" in page
    assert re.search(r'<h3>alex-authors</h3>.*?class="leak">LEAK: \d+ of \d+ recordings', page, re.DOTALL)
    # a second run replaces the report with --overwrite, only then
    (tmp_path / "rep" / "stale.txt").write_text("old")
    code, _, err = run_cli("report", "a", "--out", str(tmp_path / "rep"))
    assert code != 0 and "pass --overwrite" in err and (tmp_path / "rep" / "stale.txt").exists()
    assert run_cli("report", "a", "--out", str(tmp_path / "rep"), "--overwrite")[0] == 0
    assert not (tmp_path / "rep" / "stale.txt").exists()


def test_report_of_a_dataset_without_labels_or_poses(tmp_path, make_video):
    make_video(tmp_path / "src" / "squat" / "a.mp4")
    make_video(tmp_path / "src" / "lunges" / "b.mp4")
    assert run_cli("import", "videos", str(tmp_path / "src"), "--name", "v", "--quiet")[0] == 0
    code, _, err = run_cli("report", "v", "--out", str(tmp_path / "rep"))
    assert code == 0, err
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "No criteria and no scores." in page and "No poses yet" in page and "No default split yet" in page
    assert sorted(p.name for p in (tmp_path / "rep").glob("*.png")) == ["clips.png"]
    code, _, err = run_cli("report", "ghost")
    assert code != 0 and err.startswith("error: no dataset named 'ghost'")
