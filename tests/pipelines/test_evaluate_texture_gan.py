"""The texture GAN's evaluation helpers: which train objects stand for the split, and which class each
sample is nearest to."""

from __future__ import annotations

import torch

from gan3d.pipelines.evaluate_texture_gan import nearest_classes, pick


def test_pick_draws_across_a_split_ordered_by_class() -> None:
    classes = ["car"] * 40 + ["chair"] * 40 + ["sofa"] * 40 + ["table"] * 40
    chosen = pick(len(classes), 20, seed=0)
    assert chosen == sorted(set(chosen)) and len(chosen) == 20
    assert {classes[i] for i in chosen} == {"car", "chair", "sofa", "table"}  # the first 20 would be cars
    assert pick(len(classes), 20, seed=0) == chosen and pick(5, 20) == [0, 1, 2, 3, 4]


def test_nearest_classes_counts_each_samples_nearest_train_object() -> None:
    gen = torch.Generator().manual_seed(0)

    def rod(n: int) -> torch.Tensor:  # points along x, a little spread
        t = torch.rand(n, 256, 1, generator=gen)
        return torch.cat([t, 0.02 * torch.rand(n, 256, 2, generator=gen)], -1)

    def ball(n: int) -> torch.Tensor:
        return torch.nn.functional.normalize(torch.randn(n, 256, 3, generator=gen), dim=-1)

    train = torch.cat([rod(3), ball(3)])
    labels = ["rod"] * 3 + ["ball"] * 3
    samples = torch.cat([rod(3), ball(1)])
    assert nearest_classes(samples, train, labels) == {"ball": 0.25, "rod": 0.75}
    assert nearest_classes(ball(4), train, labels) == {"ball": 1.0, "rod": 0.0}
