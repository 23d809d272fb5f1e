"""Generation scores during training, so a GAN's collapse shows in TensorBoard rather than after the run.

Every `every_n_epochs` the callback draws as many samples as the validation split has grids (at most
`max_samples`; per class for a conditional model) from fixed noise and logs, against that split, the
scores of `gan3d.metrics.voxel_generation` under `gen/`: MMD-CD, COV-CD, 1-NNA-CD, the mean pairwise IoU
between samples and the share of empty samples. The same numbers as `gan3d evaluate --generation`, on
fewer surface points (`n_points`, 512 by default) to stay cheap. A module with an
`on_generation_scores(scores, epoch)` method is handed them (a pure GAN keeps its best weights by them).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import lightning as L
import torch

from gan3d.metrics.voxel_generation import voxel_generation_scores


def inference_weights(pl_module: L.LightningModule) -> AbstractContextManager:
    """The module's `inference_weights()` context (e.g. a generator's moving average), or a no-op."""
    provider = getattr(pl_module, "inference_weights", None)
    return provider() if provider is not None else nullcontext()


class GenerationMetricsCallback(L.Callback):
    """Log generation scores of `pl_module.model` every `every_n_epochs` (and at the last epoch).

    Args:
        every_n_epochs: period in epochs.
        max_samples: cap on the reference grids (and samples) scored.
        n_points: surface points per shape.
        seed: seed of the fixed noise.
    """

    def __init__(self, every_n_epochs: int = 10, max_samples: int = 128, n_points: int = 512, seed: int = 0) -> None:
        self.every_n_epochs, self.max_samples, self.n_points, self.seed = every_n_epochs, max_samples, n_points, seed
        self._reference: tuple[torch.Tensor, torch.Tensor] | None = None

    def _reference_grids(self, trainer: L.Trainer) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self._reference is None:
            datamodule = getattr(trainer, "datamodule", None)
            dataset = getattr(datamodule, "val_set", None)
            if dataset is None or len(dataset) == 0:
                return None
            pick = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))
            items = [dataset[int(i)] for i in pick[: self.max_samples]]
            self._reference = (
                torch.stack([item["voxels"] for item in items]),
                torch.tensor([item["label"] for item in items]),
            )
        return self._reference

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        if trainer.sanity_checking or not (epoch % self.every_n_epochs == 0 or last):
            return
        reference = self._reference_grids(trainer)
        if reference is None:
            return
        with inference_weights(pl_module):  # a generator's moving average, where the module keeps one
            scores = self.score(pl_module, *reference)
            pl_module.log_dict({f"gen/{k}": v for k, v in scores.items()}, batch_size=1, rank_zero_only=True)
            listener = getattr(pl_module, "on_generation_scores", None)  # model selection (`VaeGanModule`)
            if listener is not None:
                listener(scores, epoch)

    @torch.no_grad()
    def score(self, pl_module: L.LightningModule, reference: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Samples for the reference's labels from fixed noise, scored against it (the model is put in
        eval mode for sampling and given back as it was)."""
        model = pl_module.model
        was_training = model.training
        model.eval()
        try:
            asked = labels.to(next(model.parameters()).device) if model.num_classes else None
            samples = model.generate(model.sample_latent(len(reference), seed=self.seed), asked).float().cpu()
        finally:
            model.train(was_training)
        return voxel_generation_scores(samples.contiguous(), reference, self.n_points)
