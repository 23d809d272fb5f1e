"""3D-GAN's representation-learning result (Wu et al. 2016, §4.2): a linear classifier on the
discriminator's features, beside chance and a linear classifier on raw (downsampled) voxels."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gan3d.data.datasets import ShapeDataset
from gan3d.errors import ConfigError
from gan3d.pipelines.voxel_gan import LoadedModel, dataset_for, stack_grids


@dataclass(frozen=True)
class ClassificationReport:
    """Test accuracy overall and per class for D features and for raw voxels, and chance level."""

    classes: list[str]
    d_features: int
    d_accuracy: float
    d_per_class: dict[str, float]
    voxel_features: int
    voxel_accuracy: float
    voxel_per_class: dict[str, float]
    chance: float
    n_train: int
    n_test: int


@torch.no_grad()
def discriminator_features(loaded: LoadedModel, voxels: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """The last three conv blocks of D, each max-pooled to 2^3 and concatenated (Wu et al.), (N, F)."""
    disc = loaded.model.discriminator
    if disc.condition is not None:
        raise ConfigError("a class-conditional discriminator sees the label: its features cannot classify")
    out = []
    for start in range(0, len(voxels), batch_size):
        blocks = disc.features(voxels[start : start + batch_size])[-3:]
        out.append(torch.cat([F.adaptive_max_pool3d(b, 2).flatten(1) for b in blocks], dim=1))
    return torch.cat(out).numpy()


def raw_voxel_features(voxels: torch.Tensor, n_features: int) -> np.ndarray:
    """Voxels average-pooled to about `n_features` values (a cube of side round(n^(1/3))), (N, F)."""
    side = max(1, round(n_features ** (1 / 3)))
    return F.adaptive_avg_pool3d(voxels, side).flatten(1).numpy()


def classify(
    loaded: LoadedModel, root: str | os.PathLike[str], classes: list[str] | None = None
) -> ClassificationReport:
    """Fit linear classifiers (logistic regression, scikit-learn) on the train split, score on test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = dataset_for(loaded, root, "train", classes=classes, model_classes=False)
    test = dataset_for(loaded, root, "test", classes=train.classes)
    if len(train.classes) < 2:
        raise ConfigError("classification needs at least two classes in the dataset")

    def arrays(ds: ShapeDataset) -> tuple[torch.Tensor, np.ndarray]:
        voxels, labels = stack_grids(ds)
        return voxels, labels.numpy()

    x_train, y_train = arrays(train)
    x_test, y_test = arrays(test)
    results = {}
    for name, featurize in (("d", lambda v: discriminator_features(loaded, v)), ("voxels", None)):
        if featurize is None:
            f_train = raw_voxel_features(x_train, results["d"][0])
            f_test = raw_voxel_features(x_test, results["d"][0])
        else:
            f_train, f_test = featurize(x_train), featurize(x_test)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
        clf.fit(f_train, y_train)
        pred = clf.predict(f_test)
        per_class = {
            c: float((pred[y_test == k] == k).mean()) for k, c in enumerate(train.classes) if (y_test == k).any()
        }
        results[name] = (f_train.shape[1], float((pred == y_test).mean()), per_class)
    chance = float(np.bincount(y_test).max() / len(y_test))  # always predicting the commonest test class
    return ClassificationReport(
        train.classes,
        results["d"][0],
        results["d"][1],
        results["d"][2],
        results["voxels"][0],
        results["voxels"][1],
        results["voxels"][2],
        chance,
        len(train),
        len(test),
    )
