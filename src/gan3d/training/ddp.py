"""Gradient averaging for manually optimised modules under DDP, shared by every family.

DDP's reducer expects one backward per forward; a GAN step has several (D, E, G). Modules that train
with manual optimisation switch DDP's gradient hooks off (`ManualDdpSync.attach`) and average each
network's gradients themselves just before its optimiser steps (`step`), and take data-dependent
decisions (the adaptive D rule) on numbers averaged over ranks (`mean`), so every rank decides alike.
"""

from __future__ import annotations

import lightning as L
import torch


class ManualDdpSync:
    """Per-module state: whether gradients must be averaged across processes by hand."""

    def __init__(self) -> None:
        self.active = False
        self._wrapped: torch.nn.Module | None = None

    def attach(self, trainer: L.Trainer) -> None:
        """Call in `on_train_start`: detects DDP and switches its own gradient synchronisation off."""
        from torch.nn.parallel import DistributedDataParallel

        wrapped = getattr(trainer.strategy, "model", None)
        self.active = isinstance(wrapped, DistributedDataParallel)
        self._wrapped = wrapped if self.active else None
        self.pause()

    def pause(self) -> None:
        """Call in `on_train_batch_start`: Lightning turns DDP's synchronisation back on after every
        training step; left on, DDP's reducer would expect a gradient for every parameter in each
        backward, and a skipped discriminator step (the adaptive rule) leaves D's parameters without."""
        if self._wrapped is not None:
            self._wrapped.require_backward_grad_sync = False

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Average the optimiser's gradients across processes (under DDP), then step."""
        if self.active:
            world = torch.distributed.get_world_size()
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is not None:
                        grad = param.grad.contiguous()  # collectives need a dense default layout
                        torch.distributed.all_reduce(grad)
                        param.grad.copy_(grad.div_(world))
        optimizer.step()

    def mean(self, value: float, device: torch.device) -> float:
        """The mean of `value` over processes: the same number on every rank."""
        if not self.active:
            return value
        tensor = torch.tensor(value, device=device)
        torch.distributed.all_reduce(tensor)
        return float(tensor) / torch.distributed.get_world_size()
