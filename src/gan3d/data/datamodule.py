"""`ShapeDataModule`: train/validation loaders over a prepared dataset for Lightning."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, RandomSampler

from gan3d.data.augment import AugmentSettings
from gan3d.data.datasets import ShapeDataset, ViewMode, collate_items


class EpochSeededSampler(RandomSampler):
    """A shuffling sampler whose order depends only on (seed, epoch): Lightning calls `set_epoch`, so
    a run resumed from a checkpoint sees the same batches as an uninterrupted one."""

    def __init__(self, data_source, seed: int = 0) -> None:  # noqa: ANN001
        super().__init__(data_source, generator=torch.Generator())
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):  # noqa: ANN204
        self.generator.manual_seed(self.seed * 100_003 + self.epoch)
        return super().__iter__()


class ShapeDataModule(L.LightningDataModule):
    """Train split for training, test split for validation (the paper's 80/20 ModelNet use).

    Args are `ShapeDataset`'s (passed on by name); `augment=True` applies §2.6.6 augmentation to the
    training split only; `color=True` builds the built-in data with colours and RGB views.
    With `synthesize=True` (the default) a `root` that lacks the data is filled with the built-in
    dataset first (`classes`, default chair; `synth_per_class` objects each), so every config runs
    out of the box; point `root` at a prepared ModelNet / R2N2 folder to train on real data.
    Grids are kept in memory once decoded; `cache_views=True` keeps the views too (small datasets).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] = "data/synth",
        resolution: int | None = 32,
        batch_size: int = 20,  # §2.6.4: batch 20 at 32^3 (10 at 64^3, §2.6.7)
        classes: list[str] | None = None,
        views: int = 0,
        view_mode: ViewMode = "fixed",
        image_size: int | None = None,
        channels: int = 3,
        augment: bool = False,
        num_workers: int = 0,
        synthesize: bool = True,
        synth_per_class: int = 100,
        cache_views: bool = False,
        masks: bool = False,
        cameras: bool = False,
        surface_points: int = 0,
        occupancy_points: int = 0,
        occupancy_sigma: float = 0.05,
        occupancy_uniform: float = 0.25,
        normal_maps: bool = False,
        color: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        root = str(root)  # hyper-parameters are plain types: checkpoints load with weights_only=True
        self.save_hyperparameters()
        self.root = Path(root)
        self.train_set: ShapeDataset | None = None
        self.val_set: ShapeDataset | None = None

    def _dataset(self, split: str, augment: bool) -> ShapeDataset:
        # the dataset's own arguments, by name (the ones this module shares with ShapeDataset)
        shared = set(inspect.signature(ShapeDataset).parameters) - {"root", "split", "augment", "view_mode"}
        kwargs = {name: self.hparams[name] for name in shared if name in self.hparams}
        return ShapeDataset(
            self.root,
            split=split,
            view_mode=self.hparams.view_mode if split == "train" else "fixed",
            augment=AugmentSettings() if augment else None,
            **kwargs,
        )

    def prepare_data(self) -> None:
        """Generate the built-in data when asked to and `root` does not hold it yet (resumable)."""
        hp = self.hparams
        if not hp.synthesize:
            return
        from gan3d.data.synth_dataset import build_synthetic_dataset
        from gan3d.errors import DataError

        try:
            self._dataset("train", False)
            self._dataset("test", False)
            return
        except DataError:
            pass
        size = hp.image_size or 224
        result = build_synthetic_dataset(
            self.root,
            hp.classes or ["chair"],
            hp.synth_per_class,
            (hp.resolution,) if hp.resolution is not None else (32,),
            max(hp.views, 12) if hp.views else 0,
            size,
            seed=hp.seed,
            color=hp.color,
        )
        if result.failures:
            raise DataError(self.root, f"building the synthetic dataset failed: {result.failures[0][1]}")

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = self._dataset("train", self.hparams.augment)
            self.val_set = self._dataset("test", False)
            self.classes = self.train_set.classes

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None
        return DataLoader(
            self.train_set,
            batch_size=self.hparams.batch_size,
            sampler=EpochSeededSampler(self.train_set, self.hparams.seed),
            drop_last=True,
            collate_fn=collate_items,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None
        return DataLoader(
            self.val_set,
            batch_size=self.hparams.batch_size,
            shuffle=False,
            collate_fn=collate_items,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
        )
