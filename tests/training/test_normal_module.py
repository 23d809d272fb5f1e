"""PIFuHD's normal-map network (§4.4): it learns front and back normals, and is refused where it cannot serve."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan3d.cli.main import main
from gan3d.data.datamodule import ShapeDataModule
from gan3d.errors import ConfigError
from gan3d.training.normal_module import NormalModule, mean_angle
from tests.training.helpers import quiet_trainer

SIZE = 32


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth_people")
    args = ["data", "synth", "--out", str(out), "--classes", "person,chair", "--per-class", "5", "--views", "12"]
    assert main([*args, "--size", str(SIZE), "--res", "32", "--color"]) == 0
    return out


def _data(root: Path) -> ShapeDataModule:
    data = ShapeDataModule(
        root,
        resolution=None,
        batch_size=4,
        classes=["person", "chair"],
        views=3,
        view_mode="random",
        image_size=SIZE,
        masks=True,
        cameras=True,
        normal_maps=True,
        color=True,
        synthesize=False,
    )
    data.setup()
    return data


def _angles(module: NormalModule, data: ShapeDataModule) -> tuple[float, float]:
    """(mean front angle of the model, of the flat baseline) over the validation views."""
    module.eval()
    model, flat = [], []
    with torch.no_grad():
        for batch in data.val_dataloader():
            pred = module.model(batch["images"].flatten(0, 1))
            target = batch["normal_maps"].flatten(0, 1)
            mask = batch["masks"].flatten(0, 1)[:, 0] > 0.5
            facing = torch.zeros_like(target[:, :3])
            facing[:, 2] = -1
            model.append(float(mean_angle(pred[:, :3], target[:, :3], mask)))
            flat.append(float(mean_angle(facing, target[:, :3], mask)))
    module.train()
    return sum(model) / len(model), sum(flat) / len(flat)


def test_mean_angle_is_the_textbook_angle() -> None:
    a = torch.tensor([0.0, 0.0, -1.0]).view(1, 3, 1, 1)
    b = torch.tensor([0.0, 1.0, 0.0]).view(1, 3, 1, 1)
    assert abs(float(mean_angle(a, b, torch.ones(1, 1, 1, dtype=torch.bool))) - 90.0) < 1e-4


def test_it_learns_normals_better_than_the_flat_baseline(root: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    data = _data(root)
    module = NormalModule(model_kwargs={"base_channels": 8, "n_blocks": 2}, lr=2e-3)
    before, flat = _angles(module, data)
    trainer = quiet_trainer(tmp_path, max_epochs=8)
    trainer.fit(module, data)
    after, _ = _angles(module, data)
    print(f"front normal angle: untrained {before:.1f}, trained {after:.1f}, flat {flat:.1f} degrees")
    assert after < flat - 3 and after < before - 10, (before, after, flat)
    module.export_pretrained(tmp_path / "export")
    image = next((root / "person" / "test").glob("person_*_001.png"))
    args = ["reconstruct", "--ckpt", str(tmp_path / "export"), str(image), "--out", str(tmp_path / "x.obj")]
    assert main(args) == 2  # a normal network does not reconstruct alone
    assert main(["evaluate", "--ckpt", str(tmp_path / "export"), "--data", str(root)]) == 2
    assert main(["sample", "--ckpt", str(tmp_path / "export"), "--out", str(tmp_path / "s")]) == 2


def test_batches_without_normal_maps_are_refused(root: Path) -> None:
    module = NormalModule(model_kwargs={"base_channels": 8, "n_blocks": 1})
    batch = next(iter(_data(root).val_dataloader()))
    with pytest.raises(ConfigError, match="normal_maps"):
        module.training_step({k: v for k, v in batch.items() if k != "normal_maps"}, 0)


def test_the_discriminator_feature_term_steps_both_networks(root: Path, tmp_path: Path) -> None:
    """Without VGG weights the perceptual term comes from pix2pixHD's discriminator: one epoch moves the
    network and the discriminator, logs the terms, and the export holds the network only."""
    torch.manual_seed(0)
    module = NormalModule(model_kwargs={"base_channels": 8, "n_blocks": 1}, critic_weight=10.0, adv_weight=1.0)
    assert module.critic is not None and not module.automatic_optimization
    before = {k: v.clone() for k, v in module.state_dict().items()}
    trainer = quiet_trainer(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    trainer.fit(module, _data(root))
    after = module.state_dict()
    moved = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert moved == {"model", "critic"}
    for name in ("train/perceptual_critic", "train/adversarial", "train/critic_loss"):
        assert name in trainer.callback_metrics
    module.export_pretrained(tmp_path / "export")
    from gan3d.registry import load_pretrained

    network, _ = load_pretrained(tmp_path / "export")
    assert set(network.state_dict()) == {k[len("model.") :] for k in after if k.startswith("model.")}


def test_feature_matching_is_zero_on_the_truth_and_grows_with_the_error() -> None:
    from gan3d.losses.perceptual import feature_l1
    from gan3d.models.normal_net import PatchCritic

    torch.manual_seed(0)
    critic = PatchCritic(base_channels=8)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    truth = torch.nn.functional.normalize(torch.randn(2, 6, 32, 32), dim=1)
    score, features = critic(torch.cat([image, truth], 1))
    assert score.shape[:2] == (2, 1) and len(features) == 4
    _, same = critic(torch.cat([image, truth], 1))
    assert feature_l1(same, features) == 0
    near = feature_l1(critic(torch.cat([image, truth + 0.05 * torch.randn_like(truth)], 1))[1], features)
    far = feature_l1(critic(torch.cat([image, -truth], 1))[1], features)
    assert 0 < near < far
