"""The ALEX-GYM-1 layout writer (gymdata.layouts.alexgym): names, header order, byte-stable files that
the importer reads back."""

from __future__ import annotations

import json

import numpy as np

from gymdata.layouts import alexgym as layout
from importers.alexgym import read_pose_json, read_sheet


def test_names_follow_the_release():
    assert [layout.frames_folder(n.sheet) for n in layout.RELEASE.values()] == [
        "Squat_frames", "Deadlift_Frames", "lunges_Frames"]
    assert layout.frames_folder("plank") == "Plank_frames"
    assert layout.frame_name(7, 0, 16) == "7_idx_0_16.jpg" and layout.frame_name(8, 1, 2, ".png") == "8_idx_1_2.png"
    assert (layout.pose_file("lunges", "frontal"), layout.pose_file("lunges", "lateral")) == (
        "front_pose_lunges.json", "lat_pose_lunges.json")
    assert [layout.cell(v) for v in (1.0, 0.5, None, float("nan"), np.float32(2))] == [1, 0.5, None, None, 2]


def test_sheet_header_order_and_optional_scores():
    assert layout.sheet_columns(["A F"], ["B L", "C L"], {"frontal": 1, "lateral": 2.5, "total": 3.5}) == [
        "Num Video Frontal", "Num Video Lateral", "NumIdx", "Action", "A F", "Score: Frontal( - / 1)", "B L", "C L",
        "Score: Lateral ( - / 2.5)", "Total Score - /3.5", "class", "rating"]
    assert layout.sheet_columns(["A F"], [], {"total": 1}, head=(), tail=("class",)) == [
        "Num Video Frontal", "Num Video Lateral", "NumIdx", "A F", "Total Score - /1", "class"]


def test_files_are_byte_stable_and_read_back(tmp_path):
    columns = layout.sheet_columns(["A F"], ["B L"], {"total": 2})
    rows = [[1, 2, 0, "Squat", 1, 0, 1, 1, 3], [1, 2, 1, "Squat", None, 1, 1, 1, 4]]
    layout.write_sheet(tmp_path / "a.xlsx", columns, rows)
    layout.write_sheet(tmp_path / "b.xlsx", columns, rows)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    got, header = read_sheet(tmp_path / "a.xlsx")
    assert header == columns and got[1]["A F"] is None and got[0]["Total Score - /2"] == 1
    poses = [np.random.rand(16, 33, 3).round(4), np.zeros((16, 33, 3))]
    layout.write_poses(tmp_path / "p.json", poses)
    assert json.loads((tmp_path / "p.json").read_text())[1][0][0] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(read_pose_json(tmp_path / "p.json")[0], poses[0], rtol=1e-6)
    layout.write_subjects(tmp_path / "subjects.csv", [(1, 2, "P01"), (1, 2, "P01"), (3, 4, "P02")])
    assert (tmp_path / "subjects.csv").read_text() == (
        "Num Video Frontal,Num Video Lateral,subject\n1,2,P01\n3,4,P02\n")
