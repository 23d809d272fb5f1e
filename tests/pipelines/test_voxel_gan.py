from __future__ import annotations

import pytest
import torch

from gan3d.errors import ConfigError
from gan3d.pipelines.voxel_gan import LoadedModel, for_inference, generate, generate_batches
from gan3d.registry import get_model


@pytest.fixture
def loaded() -> LoadedModel:
    model = get_model("gan_32", base_channels=8)
    with torch.no_grad():  # saturate the outputs a little, as a trained generator's are
        model.generator.net[-1].weight.mul_(20)
    return LoadedModel(model.eval(), "gan_32", None)


def test_batches_cover_all_shapes_whatever_the_batch_size(loaded: LoadedModel) -> None:
    batches = list(generate_batches(loaded, 7, seed=3, batch_size=3))
    assert [start for start, _ in batches] == [0, 3, 6]
    assert [len(grids) for _, grids in batches] == [3, 3, 1]
    torch.testing.assert_close(torch.cat([g for _, g in batches]), generate(loaded, 7, seed=3, batch_size=32))


def test_channels_last_layout_gives_the_same_numbers(loaded: LoadedModel) -> None:
    before = generate(loaded, 4, seed=1)
    for_inference(loaded.model)
    assert loaded.model.generator.net[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(generate(loaded, 4, seed=1), before, rtol=0, atol=1e-6)


def test_bf16_generation_is_close_to_fp32(loaded: LoadedModel) -> None:
    full = generate(loaded, 4, seed=2)
    half = generate(loaded, 4, seed=2, precision="bf16")
    assert half.dtype == torch.float32
    # bfloat16 keeps 8 bits of mantissa: probabilities agree to about 1e-2
    torch.testing.assert_close(half, full, rtol=0, atol=3e-2)
    assert ((half > 0.5) == (full > 0.5)).float().mean() > 0.97


def test_unknown_precision_is_refused(loaded: LoadedModel) -> None:
    with pytest.raises(ConfigError, match="precision must be fp32 or bf16"):
        generate(loaded, 1, precision="fp16")  # type: ignore[arg-type]


def test_noise_comes_in_bounded_chunks_independent_of_the_batch_size(
    loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gan3d.pipelines.voxel_gan as voxel_gan

    monkeypatch.setattr(voxel_gan, "LATENT_CHUNK", 4)  # chunk boundaries inside and across batches
    drawn: list[int] = []
    sample_latent = loaded.model.sample_latent
    monkeypatch.setattr(loaded.model, "sample_latent", lambda n, seed: drawn.append(n) or sample_latent(n, seed))
    a = generate(loaded, 10, seed=5, batch_size=3)
    assert max(drawn) <= 4  # never more noise at once than one chunk
    torch.testing.assert_close(generate(loaded, 10, seed=5, batch_size=7), a)
    assert not torch.equal(a[:4], a[4:8])  # chunks are seeded apart
