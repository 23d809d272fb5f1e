from __future__ import annotations

import pytest
import torch

from gan3d.errors import ConfigError
from gan3d.models.conditioning import LabelConditioning
from gan3d.models.encoders import ImageEncoder, MultiViewEncoder
from gan3d.models.voxel_gan import VoxelDiscriminator, VoxelGenerator


def test_paper_encoder_layers_and_accepted_sizes() -> None:
    enc = ImageEncoder(channels=3, variant="paper").eval()
    convs = [m for m in enc.net if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size[0] for c in convs] == [11, 5, 5, 5, 8] and [c.stride[0] for c in convs] == [4, 2, 2, 2, 1]
    assert convs[-1].out_channels == 400
    mu, logvar = enc(torch.rand(2, 3, 224, 224))
    assert mu.shape == logvar.shape == (2, 200)
    with pytest.raises(ConfigError, match="223..254"):
        enc(torch.rand(1, 3, 128, 128))
    with pytest.raises(ConfigError, match="shape"):
        enc(torch.rand(1, 1, 224, 224))


def test_simple_encoder_is_all_5x5_stride_2() -> None:
    enc = ImageEncoder(channels=1, variant="simple", image_size=64)
    convs = [m for m in enc.net if isinstance(m, torch.nn.Conv2d)]
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) and c.padding == (2, 2) for c in convs)
    with pytest.raises(ConfigError, match="built for 64px"):
        enc(torch.rand(1, 1, 96, 96))


@pytest.mark.parametrize("fusion", ["mean", "max", "lstm"])
def test_fusion_and_view_order(fusion: str) -> None:
    torch.manual_seed(0)
    mv = MultiViewEncoder(ImageEncoder(channels=1, variant="simple", image_size=32), fusion).eval()  # type: ignore[arg-type]
    images = torch.rand(2, 4, 1, 32, 32)
    with torch.no_grad():
        z, mu, logvar = mv(images)
        shuffled, _, _ = mv(images[:, [2, 0, 3, 1]])
        single, _, _ = mv(images[:, :1])  # any number of views, including one
    assert z.shape == (2, 200) and mu.shape == logvar.shape == (2, 4, 200) and single.shape == (2, 200)
    if fusion == "lstm":
        assert not torch.allclose(z, shuffled)  # a sequence model: order matters
    else:
        torch.testing.assert_close(z, shuffled)  # pooling is order-free
    if fusion == "mean":
        torch.testing.assert_close(z, mu.mean(1))
    if fusion == "max":
        torch.testing.assert_close(z, mu.amax(1))


def test_conditioning_is_a_pointwise_product() -> None:
    cond = LabelConditioning(3, 8)
    x = torch.rand(2, 8)
    labels = torch.tensor([1, 2])
    mask = cond.linear(cond.embedding(labels))
    torch.testing.assert_close(cond(x, labels), x * mask)
    # the generator's output depends on the label; the unconditional one refuses labels it cannot use
    gen = VoxelGenerator(resolution=32, num_classes=3).eval()
    z = torch.randn(1, 200)
    assert not torch.allclose(gen(z, torch.tensor([0])), gen(z, torch.tensor([1])))
    with pytest.raises(ConfigError, match="pass labels"):
        gen(z)
    disc = VoxelDiscriminator(resolution=32, num_classes=3)
    assert disc.condition is not None and disc.condition.linear.out_features == 32**3


def test_generator_layers_and_dropout() -> None:
    g64 = VoxelGenerator(resolution=64, dropout=True)
    deconvs = [m for m in g64.net if isinstance(m, torch.nn.ConvTranspose3d)]
    assert len(deconvs) == 5 and deconvs[0].stride == (1, 1, 1) and all(d.stride == (2, 2, 2) for d in deconvs[1:])
    assert [d.p for d in g64.net if isinstance(d, torch.nn.Dropout3d)] == [0.2, 0.1, 0.1, 0.1]
    assert len([m for m in VoxelGenerator(resolution=32).net if isinstance(m, torch.nn.ConvTranspose3d)]) == 4
    d = VoxelDiscriminator(resolution=64, dropout=True)
    assert [m.p for m in d.net if isinstance(m, torch.nn.Dropout3d)] == [0.6, 0.4, 0.4, 0.4]
    # §2.2: D is conv + BatchNorm + LeakyReLU(0.2) per hidden layer, G uses ReLU
    leaky = [m for m in d.net if isinstance(m, torch.nn.LeakyReLU)]
    assert len(leaky) == 4 and all(m.negative_slope == 0.2 for m in leaky)
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in g64.net)
    assert sum(isinstance(m, torch.nn.ReLU) for m in g64.net) == 4
    with pytest.raises(ConfigError, match="32 or 64"):
        VoxelGenerator(resolution=48)


@pytest.mark.parametrize("norm", ["none", "layer", "spectral", "batch"])
def test_discriminator_norms_and_batch_independence(norm: str) -> None:
    """Only the paper's BatchNorm D makes a sample's score depend on the rest of its (training) batch:
    the coupling behind the 3D-GAN collapse of issue 10. The other norms score each sample alone."""
    torch.manual_seed(0)
    d = VoxelDiscriminator(resolution=32, base_channels=4, norm=norm, logits=True).train()
    assert any(isinstance(m, torch.nn.BatchNorm3d) for m in d.net) == (norm == "batch")
    assert any(isinstance(m, torch.nn.GroupNorm) for m in d.net) == (norm == "layer")
    x = (torch.rand(6, 1, 32, 32, 32) > 0.7).float()
    if norm == "spectral":
        for _ in range(20):  # power iteration converges while training
            d(x)
        conv = d.net[0]
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.05)
        d.eval()  # in eval the normalised weights are fixed: per-sample scores
    alone, together = d(x[:2]), d(x)[:2]
    if norm == "batch":
        assert not torch.allclose(alone, together, atol=1e-3)
    else:
        torch.testing.assert_close(alone, together, atol=1e-5, rtol=1e-4)
    assert len(d.features(x)) == 3


def test_minibatch_std_makes_the_voxel_discriminator_tell_copies_from_a_varied_batch() -> None:
    """With `minibatch_std` D's last layer reads one more channel, the batch's spread: a sample scores
    otherwise among copies of itself than in a varied batch, and among copies exactly as alone (spread 0);
    without it a sample's score is its own whatever the batch."""
    torch.manual_seed(0)
    x = (torch.rand(4, 1, 32, 32, 32, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    copies = x[:1].expand(4, -1, -1, -1, -1)
    plain = VoxelDiscriminator(resolution=32, base_channels=4, norm="none", logits=True)
    spread = VoxelDiscriminator(resolution=32, base_channels=4, norm="none", logits=True, minibatch_std=True)
    assert spread.net[-1].in_channels == plain.net[-1].in_channels + 1 == 17
    torch.testing.assert_close(plain(x)[0], plain(copies)[0])
    assert abs(float(spread(x)[0] - spread(copies)[0])) > 1e-4
    torch.testing.assert_close(spread(copies), spread(x[:1]).expand(4))
    assert [f.shape for f in spread.features(x)] == [f.shape for f in plain.features(x)]


def test_discriminator_norm_is_checked() -> None:
    with pytest.raises(ConfigError, match="norm must be one of"):
        VoxelDiscriminator(resolution=32, norm="instance")
