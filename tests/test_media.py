"""A clip's media files: the one rule (gymdata.media) that pose, the exporters and the App push follow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exporters import clip_media
from gymdata import media
from gymdata.errors import CorruptMediaError, InputError


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x")


def test_which_files_are_frames_and_their_order(tmp_path):
    clip = tmp_path / "View 1 (ä)"  # odd folder names are fine
    _touch(clip, "img_10.jpg", "img_2.JPG", "img_1.png", "img_3.jpeg", "img_4.BMP", "notes.txt", "img_5.gif",
           ".img_0.jpg", "._img_1.jpg", "img_6 [copy].jpg")
    (clip / "img_7.jpg").mkdir()  # a folder named like an image is not a frame
    want = ["img_1.png", "img_2.JPG", "img_3.jpeg", "img_4.BMP", "img_6 [copy].jpg", "img_10.jpg"]
    assert [p.name for p in media.frame_files(clip)] == want  # natural order, any case, no hidden files
    assert media.clip_files(clip, "frames") == [clip / n for n in want]
    assert [p.name for p in media.list_frame_files(clip, "img_1*")] == ["img_1.png", "img_10.jpg"]


def test_patterns_select_a_clip_from_a_shared_folder(tmp_path):
    folder = tmp_path / "Squat_frames"
    _touch(folder, *[f"7_idx_0_{i}.jpg" for i in (1, 2, 10)], "7_idx_1_1.jpg", "17_idx_0_1.jpg", "7_IDX_0_3.jpg")
    assert [p.name for p in media.frame_files(folder / "7_idx_0_*.jpg")] == ["7_idx_0_1.jpg", "7_idx_0_2.jpg",
                                                                             "7_idx_0_10.jpg"]  # case-sensitive
    assert [p.name for p in media.frame_files(folder / "7_idx_?_1.jpg")] == ["7_idx_0_1.jpg", "7_idx_1_1.jpg"]
    before = folder.stat().st_mtime_ns
    _touch(folder, "7_idx_0_3.jpg")  # a changed folder is listed again (its mtime moves; made sure of here,
    os.utime(folder, ns=(before + 10**7, before + 10**7))  # as file systems stamp folders coarsely)
    assert len(media.frame_files(folder / "7_idx_0_*.jpg")) == 4
    odd = tmp_path / "clip[1]"  # a folder whose name looks like a pattern is a folder
    _touch(odd, "a.jpg")
    assert media.is_frame_pattern(folder / "7_idx_0_*.jpg") and not media.is_frame_pattern(odd)
    assert media.frame_files(odd) == [odd / "a.jpg"]


def test_missing_media_and_empty_clips(tmp_path):
    with pytest.raises(InputError, match="frame folder not found"):
        media.frame_files(tmp_path / "nothing" / "*.jpg")
    with pytest.raises(InputError, match="frame folder not found"):
        media.clip_files(tmp_path / "nothing", "frames")
    with pytest.raises(InputError, match="video file not found"):
        media.clip_files(tmp_path / "a.mp4", "video")
    _touch(tmp_path / "empty", "readme.txt")
    assert media.frame_files(tmp_path / "empty") == []
    with pytest.raises(CorruptMediaError, match="no frame images"):
        media.clip_files(tmp_path / "empty", "frames")
    (tmp_path / "a.mp4").write_bytes(b"x")
    assert media.clip_files(tmp_path / "a.mp4", "video") == [tmp_path / "a.mp4"]


def test_exporters_and_push_use_the_rule(tmp_path):
    from annotators import push

    class _Dataset:
        def resolve(self, corpus, path):
            return tmp_path / path

    _touch(tmp_path / "f", "b_2.jpg", "b_10.jpg", ".b_1.jpg", "a_1.jpg")
    assert clip_media(_Dataset(), {"corpus": "c", "path": "f/b_*.jpg", "media_kind": "frames"}) == (
        "frames", [tmp_path / "f" / "b_2.jpg", tmp_path / "f" / "b_10.jpg"])
    assert clip_media(_Dataset(), {"corpus": "c", "path": "v.mp4", "media_kind": "video"}) == ("video", tmp_path / "v.mp4")
    assert push._frame_files(tmp_path / "f") == media.frame_files(tmp_path / "f")


def test_resize_frame_squashes_or_crops_the_centre():
    import numpy as np

    rgb = np.zeros((40, 80, 3), np.uint8)
    rgb[:, 20:60] = 255  # the centre square is white, the sides black
    assert media.resize_frame(rgb, 16).shape == (16, 16, 3)
    assert media.resize_frame(rgb, 16).mean() < 200  # squashed: the black sides stay
    assert (media.resize_frame(rgb, 16, "crop") == 255).all()  # the centre square only
    same = np.ones((16, 16, 3), np.uint8)
    assert media.resize_frame(same, 16) is same
