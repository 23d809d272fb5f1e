from __future__ import annotations

from types import SimpleNamespace

import torch

from gan3d.training.progress import TimeBudgetProgressBar


def test_status_shows_epoch_step_and_logged_metrics_only() -> None:
    bar = TimeBudgetProgressBar(60, metrics={"val/iou": "val IoU", "train/recon": "recon"})
    trainer = SimpleNamespace(current_epoch=2, global_step=30, callback_metrics={"val/iou": torch.tensor(0.5)})
    assert bar.status(trainer) == "epoch 3 · step 30 · val IoU 0.500"


def test_bar_fills_to_the_budget_and_stops(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("GAN3D_PROGRESS", "1")
    bar = TimeBudgetProgressBar(0.5)
    trainer = SimpleNamespace(current_epoch=0, global_step=1, callback_metrics={})
    bar.on_train_start(trainer, None)
    bar.on_train_batch_end(trainer, None, None, None, 0)
    task = bar._progress.tasks[0]
    assert 0 <= task.completed <= 0.5 and task.total == 0.5
    progress = bar._progress
    bar.on_train_end(trainer, None)
    assert bar._progress is None and progress.tasks[0].completed == 0.5
