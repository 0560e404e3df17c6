"""The skeleton layouts: BlazePose names, edges and named indices agree; the FLEX mapping follows the names."""

from __future__ import annotations

import numpy as np

from gymdata import skeleton as sk


def test_blazepose_names_indices_and_edges_agree():
    assert sk.NUM_LANDMARKS == len(set(sk.LANDMARK_NAMES)) == 33
    assert (sk.LEFT_SHOULDER, sk.RIGHT_SHOULDER, sk.LEFT_HIP, sk.RIGHT_HIP, sk.NOSE) == (11, 12, 23, 24, 0)
    assert all(sk.LANDMARK_NAMES[i].startswith("left_") for i in range(11, 33, 2))  # odd = left from 11 on
    assert all(0 <= a < 33 and 0 <= b < 33 and a != b for a, b in sk.SKELETON_EDGES)
    assert len(set(map(frozenset, sk.SKELETON_EDGES))) == len(sk.SKELETON_EDGES) == 35
    assert sk.BODY_JOINTS == (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
    for left, right in sk.LIMB_PAIRS:
        assert sk.LANDMARK_NAMES[left].replace("left_", "right_") == sk.LANDMARK_NAMES[right]


def test_flex21_mapping_follows_the_joint_names():
    assert len(sk.FLEX21_JOINTS) == sk.LAYOUT_JOINTS[sk.FLEX21] == 21
    assert sk.FLEX21_TO_BLAZEPOSE == {3: 12, 4: 14, 5: 16, 7: 11, 8: 13, 9: 15, 11: 24, 12: 26, 13: 28,
                                      16: 23, 17: 25, 18: 27}
    frames = np.arange(2 * 21 * 3, dtype=np.float32).reshape(2, 21, 3)
    out = sk.flex21_to_blazepose(frames)
    assert out.shape == (2, 33, 3)
    np.testing.assert_array_equal(out[:, sk.LEFT_KNEE], frames[:, sk.FLEX21_JOINTS.index("left_knee")])
    assert np.isnan(out[:, sk.NOSE]).all()  # no FLEX counterpart
