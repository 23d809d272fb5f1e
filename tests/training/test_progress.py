from __future__ import annotations

from types import SimpleNamespace

import pytest
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


def test_cosine_decay_factor_and_epoch_progress() -> None:
    from gan3d.training.progress import BudgetCosineDecay

    decay = BudgetCosineDecay(budget_s=1e9, max_epochs=4, floor=0.1)
    assert decay.factor(0.0) == 1.0 and decay.factor(1.0) == pytest.approx(0.1)
    assert decay.factor(0.5) == pytest.approx(0.55)
    params = [torch.nn.Parameter(torch.zeros(1))]
    opts = [torch.optim.Adam(params, lr=0.01), torch.optim.Adam(params, lr=0.002)]
    trainer = SimpleNamespace(
        optimizers=opts, num_training_batches=10, current_epoch=2, fit_loop=SimpleNamespace(batch_idx=0)
    )
    module = SimpleNamespace(log=lambda *a, **k: None)
    decay.on_train_start(trainer, module)
    assert decay.progress(trainer) == pytest.approx(0.5)  # 20 of 40 batches; the time budget is far away
    decay.on_train_batch_start(trainer, module, None, 0)
    assert opts[0].param_groups[0]["lr"] == pytest.approx(0.01 * 0.55)
    assert opts[1].param_groups[0]["lr"] == pytest.approx(0.002 * 0.55)
    trainer.current_epoch = 4
    decay.on_train_batch_start(trainer, module, None, 0)  # the rate is set from the first one, not compounded
    assert opts[0].param_groups[0]["lr"] == pytest.approx(0.01 * 0.1)
