"""Skeleton layouts: which joint is which in a ``poses`` row (one home for every module that indexes joints).

* ``blazepose33``: MediaPipe BlazePose's 33 landmarks (:data:`LANDMARK_NAMES`, in MediaPipe's
  order; odd indices are the person's left), its drawing edges (:data:`SKELETON_EDGES`, MediaPipe's
  ``POSE_CONNECTIONS``) and the named indices the features, counters, scorers and the quality flags use.
* ``flex21``: the FLEX corpus's MoCap skeleton (:data:`FLEX21_JOINTS`) and its mapping onto
  BlazePose (:data:`FLEX21_TO_BLAZEPOSE`, :func:`flex21_to_blazepose`).

In image coordinates and in MediaPipe's world coordinates, y points down.
"""

from __future__ import annotations

import numpy as np

BLAZEPOSE33 = "blazepose33"
FLEX21 = "flex21"

#: BlazePose's 33 landmarks, in MediaPipe's order.
LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
NUM_LANDMARKS = len(LANDMARK_NAMES)
#: Landmark name -> index.
INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}

#: BlazePose's skeleton (MediaPipe's ``POSE_CONNECTIONS``), as drawn by the App and the overlays.
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13), (13, 15),
    (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31),
    (30, 32), (27, 31), (28, 32),
)

NOSE = INDEX["nose"]
LEFT_SHOULDER, RIGHT_SHOULDER = INDEX["left_shoulder"], INDEX["right_shoulder"]
LEFT_ELBOW, RIGHT_ELBOW = INDEX["left_elbow"], INDEX["right_elbow"]
LEFT_WRIST, RIGHT_WRIST = INDEX["left_wrist"], INDEX["right_wrist"]
LEFT_HIP, RIGHT_HIP = INDEX["left_hip"], INDEX["right_hip"]
LEFT_KNEE, RIGHT_KNEE = INDEX["left_knee"], INDEX["right_knee"]
LEFT_ANKLE, RIGHT_ANKLE = INDEX["left_ankle"], INDEX["right_ankle"]
LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = INDEX["left_foot_index"], INDEX["right_foot_index"]

#: Left/right pairs of the limbs, shoulders to ankles (each pair's midpoint and width are counting features).
LIMB_PAIRS: tuple[tuple[int, int], ...] = (
    (LEFT_SHOULDER, RIGHT_SHOULDER), (LEFT_ELBOW, RIGHT_ELBOW), (LEFT_WRIST, RIGHT_WRIST),
    (LEFT_HIP, RIGHT_HIP), (LEFT_KNEE, RIGHT_KNEE), (LEFT_ANKLE, RIGHT_ANKLE),
)
#: The 12 limb joints (shoulders, elbows, wrists, hips, knees, ankles), in index order.
BODY_JOINTS: tuple[int, ...] = tuple(sorted(i for pair in LIMB_PAIRS for i in pair))

#: Joint order of the FLEX skeleton (inferred from the authors' remap21_to_25; uncertain).
FLEX21_JOINTS: tuple[str, ...] = (
    "head", "neck", "spine_shoulder",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_hip", "right_knee", "right_ankle", "right_foot_1", "right_foot_2",
    "left_hip", "left_knee", "left_ankle", "left_foot_1", "left_foot_2",
)
#: FLEX joint index -> BlazePose landmark index, for the joints both skeletons have (same names).
FLEX21_TO_BLAZEPOSE: dict[int, int] = {
    i: INDEX[name] for i, name in enumerate(FLEX21_JOINTS) if name in INDEX
}

#: Joints per pose layout (a ``poses.landmarks`` row holds 4 values per joint).
LAYOUT_JOINTS: dict[str, int] = {BLAZEPOSE33: NUM_LANDMARKS, FLEX21: len(FLEX21_JOINTS), "coco17": 17, "body25": 25}


def flex21_to_blazepose(landmarks: np.ndarray) -> np.ndarray:
    """FLEX skeleton frames (T, 21, C) as BlazePose frames (T, 33, C); unmapped landmarks are NaN."""
    out = np.full((landmarks.shape[0], NUM_LANDMARKS, landmarks.shape[2]), np.nan, dtype=np.float32)
    for src, dst in FLEX21_TO_BLAZEPOSE.items():
        out[:, dst] = landmarks[:, src]
    return out
