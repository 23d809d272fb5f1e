from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan3d.losses.adversarial import (
    bce_with_targets,
    binarize_straight_through,
    discriminator_accuracy,
    gan_targets,
    gradient_penalty,
    lecam_penalty,
    r1_penalty,
)
from gan3d.losses.kl import kl_divergence
from gan3d.losses.reconstruction import reconstruction_distance, reconstruction_loss


def test_soft_labels_stay_in_their_ranges() -> None:
    real = gan_targets(10_000, True, soft=True, device=torch.device("cpu"))
    fake = gan_targets(10_000, False, soft=True, device=torch.device("cpu"))
    assert 0.7 <= real.min() and real.max() <= 1.2 and real.std() > 0.1
    assert 0.0 <= fake.min() and fake.max() <= 0.3
    assert torch.equal(gan_targets(3, True, False, torch.device("cpu")), torch.ones(3))


def test_bce_matches_torch_on_hard_labels() -> None:
    logits = torch.randn(50)
    targets = (torch.rand(50) > 0.5).float()
    torch.testing.assert_close(bce_with_targets(logits, targets), F.binary_cross_entropy_with_logits(logits, targets))


def test_discriminator_accuracy() -> None:
    acc_real, acc_fake = discriminator_accuracy(torch.tensor([1.0, -1.0, 2.0, 3.0]), torch.tensor([-1.0, 1.0]))
    assert (acc_real, acc_fake) == (0.75, 0.5)


def test_kl_is_zero_at_the_prior_and_averages_views() -> None:
    assert kl_divergence(torch.zeros(4, 200), torch.zeros(4, 200)).item() == 0.0
    mu = torch.zeros(2, 3, 10)
    mu[:, 0] = 1.0  # one of three views off by 1 in every dim: KL 5 for it, 0 for the others
    assert kl_divergence(mu, torch.zeros_like(mu)).item() == pytest.approx(5.0 / 3)


def test_reconstruction_loss_is_the_batch_mean_of_l2_norms() -> None:
    pred = torch.zeros(2, 1, 2, 2, 2)
    pred[0] = 0.5
    assert reconstruction_loss(pred, torch.zeros_like(pred)).item() == pytest.approx((8 * 0.25) ** 0.5 / 2)


def test_reconstruction_distance_is_the_l2_norm_per_object() -> None:
    target = torch.zeros(2, 1, 2, 2, 2)
    pred = torch.zeros(2, 1, 2, 2, 2)
    pred[0, 0, 0, 0, 0], pred[0, 0, 1, 1, 1] = 0.6, 0.8  # sqrt(0.36 + 0.64) = 1
    pred[1] = 0.5  # sqrt(8 * 0.25)
    torch.testing.assert_close(reconstruction_distance(pred, target), torch.tensor([1.0, 2**0.5]))


def test_gradient_penalties_of_a_quadratic_critic_match_the_formula() -> None:
    """D(x) = sum(w * x^2) / 2 has gradient w * x, so both penalties are known in closed form at any x;
    WGAN-GP's point x̂ = a·real + (1 - a)·fake is recovered by drawing `a` from the same seed."""
    torch.manual_seed(0)
    w = torch.randn(1, 2, 3)
    critic = lambda x: (w * x**2).flatten(1).sum(1) / 2  # noqa: E731
    real, fake = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    torch.manual_seed(1)
    gp = gradient_penalty(critic, real, fake)
    torch.manual_seed(1)
    a = torch.rand(4, 1, 1)
    mixed = a * real + (1 - a) * fake
    expected = (((w * mixed).flatten(1).norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(gp, expected)
    torch.testing.assert_close(r1_penalty(critic, real), (w * real).flatten(1).pow(2).sum(1).mean())


def test_gradient_penalties_are_differentiable_in_the_critic() -> None:
    """The penalties train D: their gradient reaches the critic's weights (create_graph)."""
    w = torch.ones(1, 5, requires_grad=True)
    critic = lambda x: (w * x).sum(1) * 2  # noqa: E731  gradient 2w: GP = (2·sqrt(5) - 1)^2
    gp = gradient_penalty(critic, torch.randn(3, 5), torch.randn(3, 5))
    torch.testing.assert_close(gp, torch.tensor((2 * 5**0.5 - 1) ** 2))
    gp.backward()
    assert w.grad is not None and float(w.grad.abs().sum()) > 0


@pytest.mark.parametrize("mode", ["threshold", "bernoulli"])
def test_binary_fakes_are_binary_forwards_and_identity_backwards(mode: str) -> None:
    """Forward: 0/1 values (p > 0.5, or a sample with P(1) = p); backward: the upstream gradient unchanged."""
    torch.manual_seed(0)
    probs = torch.rand(64, 1, 8, 8, 8, requires_grad=True)
    hard = binarize_straight_through(probs, mode)
    assert ((hard == 0) | (hard == 1)).all()
    if mode == "threshold":
        assert torch.equal(hard, (probs > 0.5).float())
    else:  # a sample: each voxel's frequency over the batch follows its probability
        p = torch.full((20_000,), 0.3, requires_grad=True)
        assert abs(float(binarize_straight_through(p, mode).mean()) - 0.3) < 0.02
    upstream = torch.randn_like(probs)
    (hard * upstream).sum().backward()
    torch.testing.assert_close(probs.grad, upstream)


def test_binary_fakes_none_is_the_identity_and_other_modes_are_refused() -> None:
    probs = torch.rand(3, 4)
    assert binarize_straight_through(probs, "none") is probs
    with pytest.raises(ValueError, match="round"):
        binarize_straight_through(probs, "round")


def test_lecam_penalty_is_the_hinged_squared_distance_to_the_other_sides_anchor() -> None:
    """Tseng et al. 2021 eq. 4 (hinge form), by hand: real scores above the fakes' anchor and fake scores
    below the reals' anchor are penalised quadratically, the others not at all."""
    real = torch.tensor([2.0, -1.0], requires_grad=True)
    fake = torch.tensor([0.0, 3.0], requires_grad=True)
    penalty = lecam_penalty(real, fake, anchor_real=1.0, anchor_fake=-0.5)
    # real: relu(2 + 0.5)² = 6.25, relu(-1 + 0.5)² = 0 -> 3.125; fake: relu(1 - 0)² = 1, relu(1 - 3)² = 0 -> 0.5
    assert float(penalty) == pytest.approx(3.625)
    penalty.backward()
    # d/dr of mean(relu(r - a)²) = 2 (r - a) / n: the confident real score is pulled down, the fake one up
    torch.testing.assert_close(real.grad, torch.tensor([2.5, 0.0]))
    torch.testing.assert_close(fake.grad, torch.tensor([-1.0, 0.0]))
