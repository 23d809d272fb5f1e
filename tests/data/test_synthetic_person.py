from __future__ import annotations

import numpy as np
import trimesh

from gan3d.data.synthetic import LEGS, make_parts, make_shape
from gan3d.data.synthetic_parts import part_labels
from gan3d.data.synthetic_person import POSES


def _pose(seed: int) -> str:
    return make_parts("person", seed)[0].metadata["pose"]


def test_every_pose_appears_and_people_stand_on_the_ground() -> None:
    assert {_pose(s) for s in range(40)} == set(POSES)
    for seed in range(10):
        verts = make_shape("person", seed).verts
        assert abs(verts[:, 2].min()) < 0.03  # feet on z = 0
        assert 1.45 < verts[:, 2].max() < 2.3  # a person's height (hats and raised arms on top)


def test_poses_are_what_they_say() -> None:
    for seed in range(40):
        parts = make_parts("person", seed)
        pose = parts[0].metadata["pose"]
        legs = trimesh.util.concatenate([p for p in parts if p.metadata.get("part") == LEGS])
        body = trimesh.util.concatenate([p for p in parts if p.metadata.get("part") != LEGS])
        head_top = parts[9].vertices[:, 2].max()  # 6 leg capsules, trunk, pelvis, neck, head, then the arms
        hands_top = max(p.vertices[:, 2].max() for p in parts[10:16])
        width = np.ptp(body.vertices[:, 0])
        if pose == "arms_raised":
            assert hands_top > head_top - 0.05
        if pose == "arms_out":
            assert width > 1.0
        if pose in ("standing", "walking"):
            assert width < 0.9
        if pose == "walking":
            assert np.ptp(legs.vertices[:, 1]) > 0.35  # one foot ahead of the other
        assert legs.vertices[:, 2].max() < body.vertices[:, 2].max() * 0.6  # legs are the lower part


def test_legs_are_labelled_for_part_scores() -> None:
    labels = part_labels("person", 3, 32)
    assert (labels == 1).sum() > 20 and (labels == 2).sum() > (labels == 1).sum()
    # legs are at the bottom of the grid (z is the last index)
    z = np.nonzero(labels == 1)[2]
    assert z.mean() < np.nonzero(labels == 2)[2].mean()
