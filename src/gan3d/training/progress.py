"""Time-budgeted training: a progress bar that fills with wall time (so its ETA is the budget's), and a
learning-rate schedule over the budget.

Lightning's bars count batches per epoch; a run bounded by `Trainer(max_time=...)` (as `gan3d demo`
is) has no known number of epochs, so neither their totals nor their ETAs mean anything. This bar
shows the fraction of the time budget used, the epoch, and the latest metrics.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar


class TimeBudgetProgressBar(ProgressBar):
    """Rich progress bar over a training time budget of `budget_s` seconds.

    Args:
        budget_s: the run's time budget (what `Trainer(max_time=...)` stops at).
        metrics: logged metric names shown beside the bar, with their short labels.
        description: text before the bar.
    """

    def __init__(
        self,
        budget_s: float,
        metrics: dict[str, str] | None = None,
        description: str = "train",
    ) -> None:
        super().__init__()
        self.budget_s = float(budget_s)
        self.metrics = metrics if metrics is not None else {"val/iou": "val IoU", "train/recon": "recon"}
        self.description = description
        self._enabled = sys.stderr.isatty() or os.environ.get("GAN3D_PROGRESS") == "1"
        self._progress: Any = None
        self._task: Any = None
        self._start = 0.0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._start = time.monotonic()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=Console(stderr=True),
            disable=not self._enabled,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=self.budget_s, status="")

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._progress is None:
            return
        elapsed = min(time.monotonic() - self._start, self.budget_s)
        self._progress.update(self._task, completed=elapsed, status=self.status(trainer))

    def status(self, trainer: L.Trainer) -> str:
        """`epoch E · step S` and the watched metrics that have been logged so far."""
        parts = [f"epoch {trainer.current_epoch + 1}", f"step {trainer.global_step}"]
        logged = trainer.callback_metrics
        for name, label in self.metrics.items():
            if name in logged:
                parts.append(f"{label} {float(logged[name]):.3f}")
        return " · ".join(parts)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop(complete=True)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._stop(complete=False)

    def _stop(self, complete: bool) -> None:
        if self._progress is None:
            return
        if complete:
            self._progress.update(self._task, completed=self.budget_s)
        self._progress.stop()
        self._progress = None


class BudgetCosineDecay(L.Callback):
    """Cosine learning-rate decay over a time budget (or epoch count, whichever ends first).

    A run stopped by `max_time` has no known number of steps, so step-based schedulers cannot be
    used; this one sets every optimiser's learning rate from the fraction of the budget spent:
    `lr = lr0 * (floor + (1 - floor) * (1 + cos(pi * progress)) / 2)`. GAN training at a constant
    rate can swing late in a short run; decaying makes the end state the settled one.

    Args:
        budget_s: the time budget in seconds.
        max_epochs: the epoch bound, if any (-1: none).
        floor: the final fraction of each initial learning rate.
    """

    def __init__(self, budget_s: float, max_epochs: int = -1, floor: float = 0.05) -> None:
        self.budget_s, self.max_epochs, self.floor = float(budget_s), max_epochs, floor
        self._start = 0.0
        self._initial: list[list[float]] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.monotonic()
        self._initial = [[group["lr"] for group in opt.param_groups] for opt in trainer.optimizers]

    def progress(self, trainer: L.Trainer) -> float:
        """Fraction of the run done, in [0, 1]."""
        done = (time.monotonic() - self._start) / self.budget_s
        if self.max_epochs > 0:
            batches = max(1, trainer.num_training_batches * self.max_epochs)
            done = max(
                done, (trainer.current_epoch * trainer.num_training_batches + trainer.fit_loop.batch_idx) / batches
            )
        return min(1.0, max(0.0, done))

    def factor(self, progress: float) -> float:
        return self.floor + (1 - self.floor) * (1 + math.cos(math.pi * progress)) / 2

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        scale = self.factor(self.progress(trainer))
        for opt, initial in zip(trainer.optimizers, self._initial, strict=True):
            for group, lr in zip(opt.param_groups, initial, strict=True):
                group["lr"] = lr * scale
        pl_module.log("train/lr_scale", scale, on_step=True, on_epoch=False)
