"""3D-GAN's representation-learning result (Wu et al. 2016, §4.2): a linear classifier on the
discriminator's features, beside the same architecture untrained, raw (downsampled) voxels and chance.

The untrained D answers "did training add anything?": a random conv net's max-pooled responses are
already a good shape descriptor, so a trained D is only useful if it clearly beats it."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from gan3d.data.datasets import ShapeDataset
from gan3d.errors import ConfigError
from gan3d.pipelines.voxel_gan import LoadedModel, dataset_for, stack_grids

CLASSIFIERS = ("svm", "logistic")
TRAINED, UNTRAINED, RAW = "trained D", "untrained D", "raw voxels"


@dataclass(frozen=True)
class FeatureScore:
    """Test accuracy of one feature set: overall and per class (recall), and its dimension."""

    n_features: int
    accuracy: float
    per_class: dict[str, float]


@dataclass(frozen=True)
class ClassificationReport:
    """Scores of each feature set (`TRAINED`, `UNTRAINED`, `RAW`, in that order), chance level and
    the classifier used."""

    classes: list[str]
    scores: dict[str, FeatureScore]
    chance: float
    classifier: str
    n_train: int
    n_test: int


def untrained_copy(disc: nn.Module, seed: int = 0) -> nn.Module:
    """The same architecture with fresh PyTorch default initialisation (what training started from),
    seeded. Spectrally normalised layers are re-initialised through their original weight."""
    clone = copy.deepcopy(disc)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in clone.modules():
            if not isinstance(module, (nn.Conv3d, nn.ConvTranspose3d, nn.Linear)):
                if hasattr(module, "reset_parameters") and not list(module.children()):
                    module.reset_parameters()  # norms, embeddings: deterministic defaults
                continue
            weight = (
                module.parametrizations.weight.original
                if parametrize.is_parametrized(module, "weight")
                else module.weight
            )
            # nn.Conv*/Linear's default: kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            fan_in = nn.init._calculate_fan_in_and_fan_out(weight)[0]
            bound = 1.0 / max(fan_in, 1) ** 0.5
            weight.uniform_(-bound, bound, generator=generator)
            if module.bias is not None:
                module.bias.uniform_(-bound, bound, generator=generator)
    return clone.eval()


@torch.no_grad()
def discriminator_features(disc: nn.Module, voxels: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """Wu et al.'s recipe: the responses of D's last three conv blocks (conv2–conv4 of their 64³ D;
    every block of a 32³ D), each max-pooled to 2³ and concatenated, (N, F).

    Args:
        disc: a `VoxelDiscriminator` (unconditional).
        voxels: occupancy grids (N, 1, R, R, R) in [0, 1].
    """
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


def _linear_classifier(kind: str):  # noqa: ANN202 - a scikit-learn pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if kind == "svm":  # the paper's classifier
        return make_pipeline(StandardScaler(), LinearSVC(C=1.0, max_iter=20000))
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))


def classify(
    loaded: LoadedModel,
    root: str | os.PathLike[str],
    classes: list[str] | None = None,
    classifier: str = "svm",
    seed: int = 0,
    train_per_class: int | None = None,
) -> ClassificationReport:
    """Fit a linear classifier (scikit-learn) per feature set on the train split, score on test.

    Feature sets: the loaded D (`TRAINED`), `untrained_copy` of it (`UNTRAINED`, seeded by `seed`) and
    raw voxels pooled to about as many values (`RAW`). `train_per_class` keeps that many training
    objects per class (a seeded draw): Wu et al.'s limited-data setting, where features matter most.
    """
    if classifier not in CLASSIFIERS:
        raise ConfigError(f"classifier must be one of {', '.join(CLASSIFIERS)}, got {classifier!r}")
    disc = loaded.model.discriminator
    if disc.condition is not None:
        raise ConfigError("a class-conditional discriminator sees the label: its features cannot classify")
    train = dataset_for(loaded, root, "train", classes=classes, model_classes=False)
    test = dataset_for(loaded, root, "test", classes=train.classes)
    if len(train.classes) < 2:
        raise ConfigError("classification needs at least two classes in the dataset")

    def arrays(ds: ShapeDataset) -> tuple[torch.Tensor, np.ndarray]:
        voxels, labels = stack_grids(ds)
        return voxels, labels.numpy()

    x_train, y_train = arrays(train)
    x_test, y_test = arrays(test)
    if train_per_class is not None:
        if train_per_class < 1:
            raise ConfigError(f"train_per_class must be >= 1, got {train_per_class}")
        rng = np.random.default_rng(seed)
        keep = np.concatenate(
            [rng.permutation(np.flatnonzero(y_train == k))[:train_per_class] for k in np.unique(y_train)]
        )
        x_train, y_train = x_train[np.sort(keep)], y_train[np.sort(keep)]
    untrained = untrained_copy(disc, seed)
    featurizers = {
        TRAINED: lambda v: discriminator_features(disc, v),
        UNTRAINED: lambda v: discriminator_features(untrained, v),
    }
    n_d = discriminator_features(disc, x_train[:1]).shape[1]
    featurizers[RAW] = lambda v: raw_voxel_features(v, n_d)
    scores = {}
    for name, featurize in featurizers.items():
        clf = _linear_classifier(classifier)
        f_train = featurize(x_train)
        clf.fit(f_train, y_train)
        pred = clf.predict(featurize(x_test))
        per_class = {
            c: float((pred[y_test == k] == k).mean()) for k, c in enumerate(train.classes) if (y_test == k).any()
        }
        scores[name] = FeatureScore(f_train.shape[1], float((pred == y_test).mean()), per_class)
    chance = float(np.bincount(y_test).max() / len(y_test))  # always predicting the commonest test class
    return ClassificationReport(train.classes, scores, chance, classifier, len(y_train), len(y_test))
