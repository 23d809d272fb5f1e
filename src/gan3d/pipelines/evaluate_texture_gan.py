"""What DIB-R's texture GAN (§3.4) generates, measured against held-out shapes, beside two references.

Samples from seeded noise are meshes in the views' world frame, as the dataset's surface points are, so
both are compared as point clouds (2,048 points sampled by area on each generated mesh; the dataset's
own surface points): MMD-CD, COV-CD and 1-NNA-CD (`gan3d.metrics.generation`, PointFlow's convention,
clouds normalised to the unit cube) and diversity, the mean Chamfer distance between pairs of samples.
References in the same run: the train split itself against the held-out split (the ceiling a
generator of the data could reach) and the untrained generator (every sample the template sphere: a
collapsed generator, the baseline to beat). With the §3.3 teacher, a third: its reconstructions of
train-split views scored as samples, what the same template reaches with supervision (a generator of
deformed spheres is not expected to pass it).
"""

from __future__ import annotations

import numpy as np
import torch

from gan3d.data.datasets import ShapeDataset
from gan3d.metrics.generation import generation_scores, pairwise_chamfer
from gan3d.models.dibr_net import DibrNet
from gan3d.models.texture_gan import TextureGanGenerator
from gan3d.structures.mesh import sample_surface


@torch.no_grad()
def generated_clouds(model: TextureGanGenerator, n: int, n_points: int = 2048, seed: int = 0) -> torch.Tensor:
    """Surface points (n, n_points, 3) of n meshes generated from seeded noise (the model on the CPU)."""
    model.eval().cpu()
    z, z_texture = model.noise(n, generator=torch.Generator().manual_seed(seed))
    prediction = model(z, z_texture)
    clouds = [sample_surface(model.to_mesh(prediction, i), n_points, seed=seed + i)[0] for i in range(n)]
    return torch.as_tensor(np.stack(clouds), dtype=torch.float32)


def pick(count: int, n: int, seed: int = 0) -> list[int]:
    """n of `count` indices drawn without replacement (seeded), sorted: a split's records are ordered by
    class, so its first n would be one or two classes."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))[: min(n, count)]
    return sorted(order.tolist())


@torch.no_grad()
def teacher_clouds(
    teacher: DibrNet, views: ShapeDataset, indices: list[int], n_points: int = 2048, seed: int = 0
) -> torch.Tensor:
    """Surface points (len(indices), n_points, 3) of the §3.3 predictor's meshes for view 0 of objects
    `indices` of `views` (`ShapeDataset(views=1)` at the teacher's image size; the model on the CPU)."""
    teacher.eval().cpu()
    clouds = []
    for i in indices:
        prediction = teacher(views[i]["images"][:1].float())
        clouds.append(sample_surface(teacher.to_mesh(prediction, 0), n_points, seed=seed + i)[0])
    return torch.as_tensor(np.stack(clouds), dtype=torch.float32)


def dataset_clouds(dataset: ShapeDataset, indices: list[int] | None = None) -> torch.Tensor:
    """The dataset's surface points (M, P, 3) (`ShapeDataset(surface_points=P)`), all or `indices`."""
    indices = list(range(len(dataset))) if indices is None else indices
    return torch.stack([dataset[i]["points"].float() for i in indices])


def nearest_classes(clouds: torch.Tensor, train: torch.Tensor, labels: list[str]) -> dict[str, float]:
    """The share of `clouds` (N, P, 3) whose nearest of the `train` clouds (M, Q, 3; class `labels[m]`), by
    Chamfer distance on normalised clouds, is of each class: what the samples look most like. A
    collapsed generator puts every sample in one class."""
    from gan3d.metrics.generation import normalize_clouds

    nearest = pairwise_chamfer(normalize_clouds(clouds), normalize_clouds(train)).argmin(1)
    names = [labels[int(i)] for i in nearest]
    return {name: names.count(name) / len(names) for name in sorted(set(labels))}


def diversity(clouds: torch.Tensor) -> float:
    """Mean Chamfer distance (the metrics' convention, normalised clouds) between distinct pairs."""
    from gan3d.metrics.generation import normalize_clouds

    c = normalize_clouds(clouds)
    d = pairwise_chamfer(c, c)
    n = len(c)
    return float((d.sum() - d.diagonal().sum()) / max(n * (n - 1), 1))


def evaluate_texture_gan(
    model: TextureGanGenerator,
    test: ShapeDataset,
    train: ShapeDataset,
    n_samples: int | None = None,
    seed: int = 0,
    teacher: tuple[DibrNet, ShapeDataset] | None = None,
) -> dict[str, dict[str, float]]:
    """{"generator", "untrained (template)", "train split"}: {mmd_cd, cov_cd, nna_cd, diversity} against
    the `test` split's shapes (n_samples: as many as test objects by default; the train split's n drawn
    at random), and `nearest_class` (`nearest_classes` among those train objects; not for the train
    split itself); with `teacher` (the §3.3 predictor and the train split's views), also "teacher
    reconstructions (train views)" of the same train objects."""
    reference = dataset_clouds(test)
    n = n_samples or len(reference)
    points = reference.shape[1]
    chosen = pick(len(train), n, seed)
    train_clouds = dataset_clouds(train, chosen)
    train_labels = [train.records[i].class_name for i in chosen]
    fresh = TextureGanGenerator(**model.config)  # zero-initialised offsets: every sample is the template
    sources = {
        "generator": generated_clouds(model, n, points, seed),
        "untrained (template)": generated_clouds(fresh, n, points, seed),
        "train split": train_clouds,
    }
    if teacher is not None:
        sources["teacher reconstructions (train views)"] = teacher_clouds(teacher[0], teacher[1], chosen, points, seed)
    out: dict[str, dict] = {}
    for name, clouds in sources.items():
        scores = generation_scores(clouds, reference)
        out[name] = {"mmd_cd": scores.mmd_cd, "cov_cd": scores.cov_cd, "nna_cd": scores.nna_cd}
        out[name]["diversity"] = diversity(clouds)
        if name != "train split":
            out[name]["nearest_class"] = nearest_classes(clouds, train_clouds, train_labels)
    return out
