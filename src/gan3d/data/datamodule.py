"""`ShapeDataModule`: train/validation loaders over a prepared dataset for Lightning."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from gan3d.data.augment import AugmentSettings
from gan3d.data.datasets import ShapeDataset, ViewMode


class ShapeDataModule(L.LightningDataModule):
    """Train split for training, test split for validation (the paper's 80/20 ModelNet use).

    Args mirror `ShapeDataset`; `augment=True` applies §2.6.6 augmentation to the training split only.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        resolution: int = 32,
        batch_size: int = 20,  # §2.6.4: batch 20 at 32^3 (10 at 64^3, §2.6.7)
        classes: list[str] | None = None,
        views: int = 0,
        view_mode: ViewMode = "fixed",
        image_size: int | None = None,
        channels: int = 3,
        augment: bool = False,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.root = Path(root)
        self.train_set: ShapeDataset | None = None
        self.val_set: ShapeDataset | None = None

    def _dataset(self, split: str, augment: bool) -> ShapeDataset:
        hp = self.hparams
        return ShapeDataset(
            self.root,
            hp.resolution,
            split,
            hp.classes,
            hp.views,
            hp.view_mode if split == "train" else "fixed",
            hp.image_size,
            hp.channels,
            AugmentSettings() if augment else None,
        )

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
            shuffle=True,
            drop_last=True,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None
        return DataLoader(
            self.val_set,
            batch_size=self.hparams.batch_size,
            shuffle=False,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
        )
