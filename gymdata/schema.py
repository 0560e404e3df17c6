"""The unified schema: one Arrow schema per table, defined once.

Every corpus maps onto these tables, normalised by ``video_id``. Each field carries a one-line
description in its metadata (``description``), which ``gymdata schema`` and the README print.
Anything corpus-specific that does not fit goes into the JSON ``extras`` column of ``videos``,
never into a new table.

Conventions:
    * frames are 0-based indices into the clip's decoded frames; segment ends are inclusive;
    * image coordinates are normalised to [0, 1] of the frame (MediaPipe convention);
    * label rows record ``origin`` (imported | human | model), ``annotator`` and ``created_at``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from gymdata.skeleton import LAYOUT_JOINTS, NUM_LANDMARKS  # noqa: F401 (NUM_LANDMARKS: part of the schema)

SCHEMA_VERSION = "1.0"

#: Number of BlazePose landmarks (:mod:`gymdata.skeleton`) and the values stored per landmark.
LANDMARK_DIMS = 4  # x, y, z, visibility

#: ``poses``: a pose-only clip (the corpus ships landmarks, no media; ``path`` is the pose file).
MEDIA_KINDS = ("video", "frames", "poses")
VIEWS = ("frontal", "lateral", "rear", "overhead", "other")
ORIGINS = ("imported", "human", "model")
SEGMENT_KINDS = ("repetition", "phase", "state")
#: Pose layouts: BlazePose 33 (MediaPipe) and skeletons with their own joints (MoCap).
POSE_LAYOUTS = tuple(LAYOUT_JOINTS)


def _f(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


_PROVENANCE = [
    _f("origin", pa.string(), "Where the label came from: imported, human or model.", False),
    _f("annotator", pa.string(), "Who made it: a person, a model run id, or the importer name."),
    _f("created_at", pa.timestamp("us", tz="UTC"), "When the label was made (UTC)."),
]

VIDEOS = pa.schema([
    _f("video_id", pa.string(), "Unique clip id within the dataset.", False),
    _f("corpus", pa.string(), "Source corpus (alex-gym-1, flex, ucf101, videos, sample, ...).", False),
    _f("path", pa.string(), "Clip location relative to the corpus root (file or frame folder/pattern).", False),
    _f("media_kind", pa.string(),
       "video (a media file), frames (a folder or list of images) or poses (landmarks only, no media).", False),
    _f("exercise", pa.string(), "Normalised exercise name (gymdata.vocab).", False),
    _f("exercise_raw", pa.string(), "The corpus's own name for the exercise or class."),
    _f("subject", pa.string(), "Person (or UCF-101 group) performing; splits keep a subject on one side."),
    _f("recording", pa.string(), "Take id: clips of the same take (views, repetitions) share it."),
    _f("view", pa.string(), "Camera view: frontal, lateral, rear, overhead, other; null if unknown."),
    _f("rep_index", pa.int16(), "Repetition index within the recording when a clip is one repetition."),
    _f("fps", pa.float32(), "Frames per second (nominal for frame folders)."),
    _f("num_frames", pa.int32(), "Number of decodable frames."),
    _f("width", pa.int32(), "Frame width in pixels."),
    _f("height", pa.int32(), "Frame height in pixels."),
    _f("duration", pa.float32(), "Duration in seconds (num_frames / fps)."),
    _f("skill_level", pa.string(), "Skill level of the subject when the corpus gives one."),
    _f("split", pa.string(), "Split assigned by the corpus or by gymdata split (train/val/test)."),
    _f("extras", pa.string(), "JSON object with corpus-specific fields that have no column."),
])

POSES = pa.schema([
    _f("video_id", pa.string(), "Clip the frame belongs to.", False),
    _f("frame", pa.int32(), "0-based frame index within the clip.", False),
    _f("layout", pa.string(), "Joint layout: blazepose33, or a MoCap skeleton such as flex21.", False),
    _f("landmarks", pa.list_(pa.float32()),
       "Joints x (x, y, z, visibility) flattened; x, y image-normalised; NaN visibility if unknown.", False),
    _f("world", pa.list_(pa.float32()), "Joints x (x, y, z) in metres, origin between the hips; null if unknown."),
    _f("detected", pa.bool_(), "False when no person was found (landmarks are then zeros).", False),
    _f("source", pa.string(), "Who produced it: 'mediapipe-0.10.21/full', 'corpus', 'mocap', ...", False),
])

SIGNALS = pa.schema([
    _f("video_id", pa.string(), "Clip (or recording's representative clip) the signal belongs to.", False),
    _f("channel", pa.string(), "Channel name, e.g. emg_1 or heart_rate.", False),
    _f("kind", pa.string(), "Signal family: emg, heart_rate, breath_rate, ...", False),
    _f("sample_rate", pa.float64(), "Samples per second; null when the corpus does not publish it."),
    _f("unit", pa.string(), "Physical unit when known."),
    _f("samples", pa.list_(pa.float32()), "The samples, in time order.", False),
])

CRITERIA = pa.schema([
    _f("video_id", pa.string(), "Clip the verdict is about.", False),
    _f("criterion", pa.string(), "Criterion name exactly as the corpus or annotator wrote it.", False),
    _f("view", pa.string(), "View the criterion is judged from (frontal/lateral), if any."),
    _f("value", pa.float32(), "Raw points or value as given by the source."),
    _f("passed", pa.bool_(), "True = pass, False = fail, null = unsure."),
    *_PROVENANCE,
])

SCORES = pa.schema([
    _f("video_id", pa.string(), "Clip the score is about.", False),
    _f("name", pa.string(), "Score name: quality, total, frontal, lateral, ...", False),
    _f("value", pa.float32(), "The score.", False),
    _f("scale_min", pa.float32(), "Lowest possible value of the scale.", False),
    _f("scale_max", pa.float32(), "Highest possible value of the scale.", False),
    *_PROVENANCE,
])

SEGMENTS = pa.schema([
    _f("video_id", pa.string(), "Clip the segment lies in.", False),
    _f("kind", pa.string(), "repetition, phase (e.g. a keystep) or state (A/R).", False),
    _f("label", pa.string(), "Segment label: 'rep', 'A', 'R', a keystep id, ...", False),
    _f("start_frame", pa.int32(), "First frame (inclusive).", False),
    _f("end_frame", pa.int32(), "Last frame (inclusive).", False),
    *_PROVENANCE,
])

PENALTIES = pa.schema([
    _f("video_id", pa.string(), "Clip the penalty is about.", False),
    _f("keystep", pa.string(), "Keystep (action knot) id from the exercise's knowledge graph."),
    _f("error_type", pa.string(), "Error type id from the knowledge graph.", False),
    _f("points", pa.float32(), "Points deducted."),
    _f("feedback", pa.string(), "Feedback text for the athlete."),
    _f("start_frame", pa.int32(), "First frame where the error shows, if localised."),
    _f("end_frame", pa.int32(), "Last frame where the error shows, if localised."),
    *_PROVENANCE,
])


@dataclass(frozen=True)
class TableSpec:
    """A table of the unified schema.

    Attributes:
        name: Table name (also its folder name in the store).
        schema: The Arrow schema.
        description: One line on what a row is.
        key: Columns that identify a row (checked for duplicates by validate).
    """

    name: str
    schema: pa.Schema
    description: str
    key: tuple[str, ...]


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("videos", VIDEOS, "One row per clip: a video, or one repetition of one view.", ("video_id",)),
        TableSpec("poses", POSES, "One row per frame of a clip with pose landmarks.", ("video_id", "frame", "source")),
        TableSpec("signals", SIGNALS, "One row per physiological channel of a clip.", ("video_id", "channel")),
        TableSpec("criteria", CRITERIA, "Pass/fail verdicts per named criterion.", ()),
        TableSpec("scores", SCORES, "Numeric quality scores with their scale.", ()),
        TableSpec("segments", SEGMENTS, "Temporal segments: repetitions, phases, A/R states.", ()),
        TableSpec("penalties", PENALTIES, "Penalties: keystep, error type, points, feedback.", ()),
    )
}

LABEL_TABLES = ("criteria", "scores", "segments", "penalties")


def describe(table: str) -> list[tuple[str, str, bool, str]]:
    """Rows (name, type, nullable, description) for a table, for docs and ``gymdata schema``."""
    spec = TABLES[table]
    return [
        (f.name, str(f.type), f.nullable, (f.metadata or {}).get(b"description", b"").decode())
        for f in spec.schema
    ]
