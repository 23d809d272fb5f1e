"""Helpers shared by the training tests: a quiet Lightning trainer, and the PIFu family's bar against the
mean shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L


def quiet_trainer(root: Path, **kwargs: Any) -> L.Trainer:
    """A `Trainer` writing under `root`, without logger, checkpoints or progress bar; `kwargs` add to it."""
    quiet = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False}
    return L.Trainer(default_root_dir=root, **quiet, **kwargs)


def assert_beats_mean_shape(summary: dict[str, dict[str, float]]) -> None:
    """PIFu's quality bar on held-out objects (`gan3d evaluate` summary): 3D IoU above the mean shape's by
    0.04, Chamfer-L1 below 0.85 of its, F-score above 1.5 times its."""
    model, mean = summary["model"], summary["mean_shape"]
    assert model["iou_3d"] > mean["iou_3d"] + 0.04, summary
    assert model["chamfer_l1"] < 0.85 * mean["chamfer_l1"], summary
    assert model["f_score"] > 1.5 * mean["f_score"], summary
