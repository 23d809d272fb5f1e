"""Every registered variant: shapes, finiteness, gradients to every parameter, determinism, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan3d.errors import CheckpointError, ConfigError
from gan3d.export.checkpoint import save_pretrained
from gan3d.registry import get_builder, get_model, list_models, load_pretrained
from tests.models.testers import TESTERS


def _tester(name: str):  # noqa: ANN202
    module = get_builder(name).__module__
    assert module in TESTERS, f"builder {name} ({module}) has no tester: add one to tests/models/testers.py"
    return TESTERS[module]


def _build(name: str):  # noqa: ANN202
    torch.manual_seed(0)
    return _tester(name).build(name)


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
    tester = _tester(name)
    model = _build(name)
    inputs = tester.inputs(model)
    outputs = tester.forward(model, inputs)  # the tester checks the shapes
    bad = [key for key, value in outputs.items() if not torch.isfinite(value).all()]
    assert not bad, f"non-finite outputs {bad}"
    # backward reaches every parameter
    sum(value.float().mean() for value in outputs.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no gradient for {missing[:5]}"
    # deterministic in eval mode, and the same after a safetensors round trip
    model.eval()
    with torch.no_grad():
        first = tester.forward(model, inputs)
        again = tester.forward(model, inputs)
        for key in first:
            assert torch.equal(first[key], again[key]), key
        save_pretrained(model, tmp_path / "ckpt", builder=name)
        loaded, config = load_pretrained(tmp_path / "ckpt")
        assert config["builder"] == name
        reloaded = tester.forward(loaded, inputs)
        for key in first:
            torch.testing.assert_close(reloaded[key], first[key], msg=key)


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


def test_a_narrower_discriminator_keeps_its_width_through_an_export(tmp_path: Path) -> None:
    """`d_base_channels` sets D's width alone (channel counts 4, 8, 16 at 32³, then the score), G keeps
    `base_channels`; the export rebuilds the same networks (the minibatch-spread channel included)."""
    torch.manual_seed(0)
    model = get_model("gan_32", base_channels=8, d_base_channels=4, d_minibatch_std=True)
    d_widths = [m.out_channels for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv3d)]
    assert d_widths == [4, 8, 16, 1]
    assert model.discriminator.net[-1].in_channels == 17  # 16 + the minibatch spread
    g_reference = get_model("gan_32", base_channels=8).generator
    assert [p.shape for p in model.generator.parameters()] == [p.shape for p in g_reference.parameters()]
    save_pretrained(model, tmp_path / "ckpt", builder="gan_32")
    loaded, _ = load_pretrained(tmp_path / "ckpt")
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
