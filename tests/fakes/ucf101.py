"""A fake UCF-101: the official tree and split lists, with tiny XVID clips (or links to real ones).

Faithful to the real release where an importer can tell: folder ``UCF-101/<Class>/``, files
``v_<Class>_gXX_cYY.avi`` (``v_HandStandPushups_*`` inside ``HandstandPushups/``), the 101 class
names and 1-based indices of ``classInd.txt``, ``trainlist0N.txt`` (``<Class>/<file>.avi <index>``)
and ``testlist0N.txt`` (``<Class>/<file>.avi``) with CRLF line ends, and the official folds: fold
``k`` tests on groups 7(k-1)+1 .. 7k, groups 22-25 are always training. The lists name only the
clips written, so a partial fake is still a consistent corpus.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

#: classInd.txt of the real release, in order (index = position + 1).
UCF101_CLASSES = [
    "ApplyEyeMakeup", "ApplyLipstick", "Archery", "BabyCrawling", "BalanceBeam", "BandMarching", "BaseballPitch",
    "Basketball", "BasketballDunk", "BenchPress", "Biking", "Billiards", "BlowDryHair", "BlowingCandles",
    "BodyWeightSquats", "Bowling", "BoxingPunchingBag", "BoxingSpeedBag", "BreastStroke", "BrushingTeeth",
    "CleanAndJerk", "CliffDiving", "CricketBowling", "CricketShot", "CuttingInKitchen", "Diving", "Drumming",
    "Fencing", "FieldHockeyPenalty", "FloorGymnastics", "FrisbeeCatch", "FrontCrawl", "GolfSwing", "Haircut",
    "Hammering", "HammerThrow", "HandstandPushups", "HandstandWalking", "HeadMassage", "HighJump", "HorseRace",
    "HorseRiding", "HulaHoop", "IceDancing", "JavelinThrow", "JugglingBalls", "JumpingJack", "JumpRope", "Kayaking",
    "Knitting", "LongJump", "Lunges", "MilitaryParade", "Mixing", "MoppingFloor", "Nunchucks", "ParallelBars",
    "PizzaTossing", "PlayingCello", "PlayingDaf", "PlayingDhol", "PlayingFlute", "PlayingGuitar", "PlayingPiano",
    "PlayingSitar", "PlayingTabla", "PlayingViolin", "PoleVault", "PommelHorse", "PullUps", "Punch", "PushUps",
    "Rafting", "RockClimbingIndoor", "RopeClimbing", "Rowing", "SalsaSpin", "ShavingBeard", "Shotput",
    "SkateBoarding", "Skiing", "Skijet", "SkyDiving", "SoccerJuggling", "SoccerPenalty", "StillRings",
    "SumoWrestling", "Surfing", "Swing", "TableTennisShot", "TaiChi", "TennisSwing", "ThrowDiscus",
    "TrampolineJumping", "Typing", "UnevenBars", "VolleyballSpiking", "WalkingWithDog", "WallPushups",
    "WritingOnBoard", "YoYo",
]
#: Clips in the real release.
TOTAL_CLIPS = 13_320


def file_class(cls: str) -> str:
    """The class as spelled in file names (the one quirk of the release)."""
    return "HandStandPushups" if cls == "HandstandPushups" else cls


def test_fold(group: int) -> str | None:
    """The fold (1-3) that tests on this group, or None for groups 22-25."""
    return str((group - 1) // 7 + 1) if group <= 21 else None


def write_xvid(path: Path, frames: int = 10, size: tuple[int, int] = (320, 240), fps: int = 25) -> Path:
    """Encode a tiny MPEG-4 part 2 AVI tagged XVID, like UCF-101's clips (deterministic)."""
    import av

    w, h = size
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt, stream.codec_tag = w, h, "yuv420p", "XVID"
        for i in range(frames):
            img = np.full((h, w, 3), 40, np.uint8)
            img[h // 3 : h // 2, (i * 7) % (w - 20) : (i * 7) % (w - 20) + 20] = (200, 120, 30)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_ucf101(
    root: Path,
    *,
    classes: Sequence[str],
    groups: Sequence[int] = (1, 8, 15, 22),
    clips: int | Callable[[str, int], int] = 1,
    sources: Sequence[Path] | None = None,
    link: bool = True,
) -> list[str]:
    """Write a UCF-101 tree under ``root`` (``UCF-101/`` and ``ucfTrainTestlist/``).

    Args:
        root: Corpus root to create.
        classes: Classes that get clips (classInd always lists all 101).
        groups: Groups (1-25) that get clips in each class.
        clips: Clips per (class, group): a number or a function of (class, group).
        sources: Video files to reuse for the clips, round-robin (default: one tiny XVID clip).
        link: Hard-link the sources (falls back to copying across file systems).

    Returns:
        The clips' paths relative to ``UCF-101/``, in list order.
    """
    videos, lists = root / "UCF-101", root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    if sources is None:
        sources = [write_xvid(root / ".fake-source.avi")]
    per_clip = clips if callable(clips) else (lambda _cls, _group: clips)
    written: list[str] = []
    n = 0
    for cls in sorted(classes, key=UCF101_CLASSES.index):
        (videos / cls).mkdir(parents=True, exist_ok=True)
        for group in groups:
            for c in range(1, per_clip(cls, group) + 1):
                rel = f"{cls}/v_{file_class(cls)}_g{group:02d}_c{c:02d}.avi"
                _place(sources[n % len(sources)], videos / rel, link)
                written.append(rel)
                n += 1
    (root / ".fake-source.avi").unlink(missing_ok=True)
    crlf = "\r\n"
    (lists / "classInd.txt").write_bytes(
        "".join(f"{i} {c}{crlf}" for i, c in enumerate(UCF101_CLASSES, start=1)).encode())
    for fold in ("1", "2", "3"):
        train = [r for r in written if test_fold(_group(r)) != fold]
        test = [r for r in written if test_fold(_group(r)) == fold]
        (lists / f"trainlist0{fold}.txt").write_bytes(
            "".join(f"{r} {UCF101_CLASSES.index(r.split('/')[0]) + 1}{crlf}" for r in train).encode())
        (lists / f"testlist0{fold}.txt").write_bytes("".join(f"{r}{crlf}" for r in test).encode())
    return written


def full_release_counts(seed: int = 0) -> Callable[[str, int], int]:
    """Clips per (class, group) for all 101 classes x 25 groups: 4-7 each, 13,320 in all, like the release."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(4, 8, size=(len(UCF101_CLASSES), 25))
    diff = TOTAL_CLIPS - int(counts.sum())
    flat = counts.reshape(-1)
    order = rng.permutation(flat.size)
    i = 0
    while diff:  # nudge cells within 4..7 until the total is exact
        cell = order[i % flat.size]
        step = 1 if diff > 0 else -1
        if 4 <= flat[cell] + step <= 7:
            flat[cell] += step
            diff -= step
        i += 1
    return lambda cls, group: int(counts[UCF101_CLASSES.index(cls), group - 1])


def _group(rel: str) -> int:
    return int(rel.rsplit("_g", 1)[1].split("_", 1)[0])


def _place(source: Path, dest: Path, link: bool) -> None:
    if link:
        try:
            os.link(source, dest)
            return
        except OSError:
            pass
    shutil.copyfile(source, dest)
