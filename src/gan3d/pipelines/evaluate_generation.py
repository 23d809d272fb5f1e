"""Judge a generator by what it generates: samples against the held-out split, beside two references.

For a voxel generator, `evaluate_generation` draws as many samples as the split has objects (per class,
for a conditional model) and reports, against that split:

* MMD-CD, COV-CD and 1-NNA-CD (`gan3d.metrics.generation`) on `n_points` surface points per shape
  (marching cubes of each grid at 0.5; clouds normalised to the unit cube);
* recognised: the share of samples whose nearest training shape (by voxel IoU, a 1-NN classifier fitted
  on the train split) is of the class asked for. Conditional models: over the model's classes. An
  unconditional model trained on one class (3D-GAN on chairs): over every class of the dataset's train
  split, so "recognised" means "closer to a training chair than to any training table, car, ...";
  an unconditional model of several classes has no class to ask for, and the score is omitted;
* diversity: the mean pairwise IoU between samples (1 = all the same shape; lower is more diverse);
* empty: the share of samples with no voxel above 0.5.

The same numbers for two references from the same run: the train split itself (the ceiling a perfect
generator of the training distribution reaches) and a collapsed generator (every sample is its class's
mean training shape at its IoU-best threshold), so a collapse is visible at once.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from gan3d.metrics.voxel_generation import voxel_generation_scores
from gan3d.pipelines.evaluate_model import mean_shapes
from gan3d.pipelines.voxel_gan import LoadedModel, dataset_for, generate, stack_grids


@torch.no_grad()
def evaluate_generation(
    loaded: LoadedModel, root: str | os.PathLike[str], split: str = "test", n_points: int = 1024, seed: int = 0
) -> dict[str, Any]:
    """Generation scores of the model and of the two references (module docstring), as a JSON-ready dict."""
    test = dataset_for(loaded, root, split)
    train = dataset_for(loaded, root, "train", classes=test.classes)
    reference, reference_labels = stack_grids(test)
    train_voxels, train_labels = stack_grids(train)
    conditional = bool(loaded.model.num_classes)
    classifier, classifier_labels, recognised_by = train_voxels, train_labels, "the model's classes"
    if conditional:  # as many samples per class as the split has objects of it
        parts = [
            generate(loaded, int((reference_labels == k).sum()), name, seed=seed + k)
            for k, name in enumerate(test.classes)
            if (reference_labels == k).any()
        ]
        samples, labels = torch.cat(parts), reference_labels.sort().values
        order = torch.argsort(reference_labels, stable=True)
        reference, reference_labels = reference[order], reference_labels[order]
    else:
        samples, labels = generate(loaded, len(reference), seed=seed), None
        if len(test.classes) == 1:  # one-class generator: recognised among every class of the dataset
            everything = dataset_for(loaded, root, "train", model_classes=False)
            if len(everything.classes) > 1:
                classifier, classifier_labels = stack_grids(everything)
                labels = torch.full((len(samples),), everything.classes.index(test.classes[0]))
                recognised_by = f"{len(everything.classes)} classes ({', '.join(everything.classes)})"
    rng = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(train_voxels), generator=rng)[: len(reference)]
    means, thresholds = mean_shapes(train)
    collapsed = torch.stack([(means[int(k)] > thresholds[int(k)]).float() for k in reference_labels])

    def scores(grids: torch.Tensor, asked: torch.Tensor | None) -> dict[str, Any]:
        return voxel_generation_scores(grids, reference, n_points, asked, classifier, classifier_labels)

    return {
        "settings": {
            "split": split,
            "samples": len(samples),
            "n_points": n_points,
            "distance": "PointFlow Chamfer (squared, both ways) on unit-cube clouds",
            "recognised_by": f"1-NN by voxel IoU over the train split of {recognised_by}",
        },
        "model": scores(samples, labels),
        # (recognition of training shapes by their nearest training shape is 1 by construction: left out)
        "train_split": scores(train_voxels[pick], None),
        "mean_shape": scores(collapsed, labels),
    }
