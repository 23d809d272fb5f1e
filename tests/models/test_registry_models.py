"""Every registered variant: shapes, finiteness, gradients to every parameter, determinism, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan3d.errors import CheckpointError, ConfigError
from gan3d.export.checkpoint import save_pretrained
from gan3d.registry import get_model, list_models, load_pretrained

# small inputs: grey images, the simple encoder built for 64 px (the paper encoder needs 224)
TINY = {"channels": 1, "image_size": 64}


def _inputs(model, batch: int = 2, views: int = 2) -> dict:
    gen = torch.Generator().manual_seed(0)
    cfg = model.config
    size = cfg["image_size"] if cfg["encoder"] == "simple" else 224
    shape = (batch, views, cfg["channels"], size, size) if cfg["fusion"] else (batch, cfg["channels"], size, size)
    labels = torch.tensor([0, 2])[:batch] if cfg["num_classes"] else None
    return {
        "images": torch.rand(shape, generator=gen),
        "labels": labels,
        "latent": torch.randn(batch, 200, generator=gen),
    }


def _build(name: str):
    kwargs = dict(TINY)
    if name.startswith(("gan_",)):
        kwargs = {}
    elif "simple" not in name and name in ("vae_gan_32",):
        kwargs = {"channels": 1}
    torch.manual_seed(0)
    return get_model(name, **kwargs)


def test_registry_lists_the_paper_variants() -> None:
    names = list_models()
    for expected in (
        "gan_32",
        "gan_64",
        "vae_gan_32",
        "vae_gan_simple_32",
        "vae_gan_simple_64",
        "cond_vae_gan_64",
        "multiview_vae_gan_64",
        "cond_multiview_vae_gan_64",
    ):
        assert expected in names
    with pytest.raises(ConfigError, match="unknown model"):
        get_model("vae_gan_128")


@pytest.mark.parametrize("name", list_models())
def test_variant(name: str, tmp_path: Path) -> None:
    model = _build(name)
    x = _inputs(model)
    r = model.config["resolution"]
    # forward: generation from noise, reconstruction from images, discrimination
    voxels = model.generate(x["latent"], x["labels"])
    assert voxels.shape == (2, 1, r, r, r) and torch.isfinite(voxels).all()
    assert 0 <= voxels.min() and voxels.max() <= 1
    score = model.discriminator(voxels, x["labels"])
    assert score.shape == (2,) and torch.isfinite(score).all()
    loss = score.sum() + voxels.mean()
    if model.encoder is not None:
        z, mu, logvar = model.encode(x["images"])
        assert z.shape == (2, 200) and mu.shape[-1] == 200
        loss = loss + model.generate(z, x["labels"]).mean() + logvar.mean()
    # backward reaches every parameter
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no gradient for {missing[:5]}"
    # deterministic in eval mode, and the same after a safetensors round trip
    model.eval()
    with torch.no_grad():
        first = model.generate(x["latent"], x["labels"])
        assert torch.equal(first, model.generate(x["latent"], x["labels"]))
        save_pretrained(model, tmp_path / "ckpt", builder=name)
        loaded, config = load_pretrained(tmp_path / "ckpt")
        assert config["builder"] == name
        torch.testing.assert_close(loaded.generate(x["latent"], x["labels"]), first)
        if model.encoder is not None:
            torch.testing.assert_close(loaded.encode(x["images"])[0], model.encode(x["images"])[0])


def test_seeded_construction_is_deterministic() -> None:
    a, b = _build("vae_gan_simple_32"), _build("vae_gan_simple_32")
    for (na, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(pa, pb), na


def test_bad_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing config.json"):
        load_pretrained(tmp_path)
    model = _build("gan_32")
    save_pretrained(model, tmp_path / "c", builder="gan_32")
    (tmp_path / "c" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_pretrained(tmp_path / "c")
    save_pretrained(model, tmp_path / "d", builder="gan_32")
    config = tmp_path / "d" / "config.json"
    config.write_text(config.read_text().replace('"resolution": 32', '"resolution": 64'))  # weights of another size
    with pytest.raises(CheckpointError, match="do not match"):
        load_pretrained(tmp_path / "d")
