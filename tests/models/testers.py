"""Per-family testers for the registry-driven model tests (`test_registry_models.py`).

A family registers its tester in `TESTERS` under the module that defines its builders; the generic tests
(shapes and finiteness, gradients to every parameter, determinism, save -> load -> same outputs) then
cover every builder it registers, with no edit of another family's tester.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from gan3d.registry import get_model


class Tester(Protocol):
    def build(self, name: str) -> nn.Module:
        """A small instance of builder `name` (seeded by the caller)."""

    def inputs(self, model: nn.Module) -> dict[str, Any]:
        """Deterministic inputs for `forward`."""

    def forward(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Every output of the model's public entry points, by name; the tester checks their shapes."""


@dataclass(frozen=True)
class VoxelGanTester:
    """3D-GAN / 3D-VAE-GAN variants (`gan3d.models.vae_gan`): generate, discriminate, encode."""

    batch: int = 2
    views: int = 2

    def build(self, name: str) -> nn.Module:
        # small inputs: grey images, the simple encoder built for 64 px (the paper encoder needs 224)
        kwargs: dict[str, Any] = {"channels": 1, "image_size": 64}
        if name.startswith("gan_"):
            kwargs = {}
        elif name == "vae_gan_32":
            kwargs = {"channels": 1}
        return get_model(name, **kwargs)

    def inputs(self, model: nn.Module) -> dict[str, Any]:
        gen = torch.Generator().manual_seed(0)
        cfg = model.config
        size = cfg["image_size"] if cfg["encoder"] == "simple" else 224
        image_shape = (self.batch, cfg["channels"], size, size)
        if cfg["fusion"]:
            image_shape = (self.batch, self.views, *image_shape[1:])
        return {
            "images": torch.rand(image_shape, generator=gen),
            "labels": torch.tensor([0, 2])[: self.batch] if cfg["num_classes"] else None,
            "latent": torch.randn(self.batch, cfg["latent_dim"], generator=gen),
        }

    def forward(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        r, n, d = model.config["resolution"], self.batch, model.config["latent_dim"]
        voxels = model.generate(inputs["latent"], inputs["labels"])
        assert voxels.shape == (n, 1, r, r, r) and 0 <= voxels.min() and voxels.max() <= 1
        score = model.discriminator(voxels, inputs["labels"])
        assert score.shape == (n,)
        out = {"voxels": voxels, "score": score}
        if model.encoder is not None:
            z, mu, logvar = model.encode(inputs["images"])
            assert z.shape == (n, d) and mu.shape[:: mu.ndim - 1] == (n, d) and logvar.shape == mu.shape  # per view
            out.update(mu=mu, logvar=logvar, recon=model.generate(z, inputs["labels"]))
        return out


@dataclass(frozen=True)
class DibrNetTester:
    """DIB-R's single-image predictors (`gan3d.models.dibr_net`): image -> mesh vertices and albedo."""

    batch: int = 2

    def build(self, name: str) -> nn.Module:
        overrides = {"template_level": 2}
        if "texture" in name:
            overrides["texture_size"] = 16
        model = get_model(name, **overrides)
        for head in (model.offset_head, model.color_head):  # off the zero start, so outputs depend on input
            last = [m for m in head.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
            nn.init.normal_(last.weight, 0, 0.01)
        return model

    def inputs(self, model: nn.Module) -> dict[str, Any]:
        size = model.config["image_size"]
        return {"images": torch.rand(self.batch, 3, size, size, generator=torch.Generator().manual_seed(0))}

    def forward(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        prediction = model(inputs["images"])
        verts, n_verts = prediction.verts, model.template.shape[0]
        assert verts.shape == (self.batch, n_verts, 3)
        colour = prediction.albedo if model.color == "vertex" else prediction.texture
        size = model.config["texture_size"]
        assert colour.shape == ((self.batch, n_verts, 3) if model.color == "vertex" else (self.batch, 3, size, size))
        assert 0 <= colour.min() and colour.max() <= 1
        out = {"verts": verts, "colour": colour}
        if prediction.light is not None:
            out["light"] = prediction.light
        return out


@dataclass(frozen=True)
class TextureGanTester:
    """DIB-R's texture GAN generator (`gan3d.models.texture_gan`): two noises -> mesh vertices + texture."""

    batch: int = 2

    def build(self, name: str) -> nn.Module:
        model = get_model(name, template_level=2, width=64, texture_channels=64)
        nn.init.normal_(model.g1_out.weight, 0, 0.01)  # off the zero start, so vertices depend on z
        return model

    def inputs(self, model: nn.Module) -> dict[str, Any]:
        gen = torch.Generator().manual_seed(0)
        return dict(zip(("z", "z_texture"), model.noise(self.batch, generator=gen), strict=True))

    def forward(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        prediction = model(inputs["z"], inputs["z_texture"])
        size = model.config["texture_size"]
        assert prediction.verts.shape == (self.batch, model.template.shape[0], 3)
        assert prediction.texture.shape == (self.batch, 3, size, size)
        assert 0 <= prediction.texture.min() and prediction.texture.max() <= 1
        return {"verts": prediction.verts, "texture": prediction.texture}


@dataclass(frozen=True)
class PifuTester:
    """PIFu (`gan3d.models.pifu`): images + cameras + query points -> occupancy logits per stack."""

    batch: int = 2
    views: int = 2

    def build(self, name: str) -> nn.Module:
        return get_model(name, channels=16, feature_channels=16, stacks=2, depth=2, mlp_widths=(32, 16, 8))

    def inputs(self, model: nn.Module) -> dict[str, Any]:
        from gan3d.structures.cameras import orbit_cameras

        gen = torch.Generator().manual_seed(0)
        n = self.batch * self.views
        cameras = orbit_cameras([20.0] * n, [float(40 * i) for i in range(n)], 2.5, size=32)
        return {
            "images": torch.rand(self.batch, self.views, 3, 32, 32, generator=gen),
            "cameras": cameras.reshape(self.batch, self.views),
            "points": torch.rand(self.batch, 64, 3, generator=gen) - 0.5,
        }

    def forward(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = model(inputs["images"], inputs["cameras"], inputs["points"])
        assert len(logits) == model.config["stacks"] and all(x.shape == (self.batch, 64) for x in logits)
        return {f"stack{i}": x for i, x in enumerate(logits)}


@dataclass(frozen=True)
class NormalNetTester:
    """PIFuHD's normal network (`gan3d.models.normal_net`): image -> front and back unit normal maps."""

    batch: int = 2

    def build(self, name: str) -> nn.Module:
        return get_model(name, base_channels=8, n_down=2, n_blocks=1)

    def inputs(self, model: nn.Module) -> dict[str, Any]:
        return {"images": torch.rand(self.batch, 3, 16, 16, generator=torch.Generator().manual_seed(0))}

    def forward(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        maps = model(inputs["images"])
        assert maps.shape == (self.batch, 6, 16, 16)
        torch.testing.assert_close(maps[:, :3].norm(dim=1), torch.ones(self.batch, 16, 16))
        return {"front": maps[:, :3], "back": maps[:, 3:]}


@dataclass(frozen=True)
class PifuHDTester:
    """PIFuHD (`gan3d.models.pifuhd`): one image + its normal maps + camera + query points -> the logits of
    every coarse stack and of the fine level (the normal network is `NormalNetTester`'s)."""

    batch: int = 2

    def build(self, name: str) -> nn.Module:
        small = {"image_size": 32, "coarse_size": 16, "crop_size": 16, "coarse_channels": 16}
        small |= {"coarse_feature_channels": 16, "coarse_mlp_widths": (16, 12, 8), "fine_channels": 8}
        return get_model(name, normal_net=None, fine_feature_channels=8, fine_mlp_widths=(8,), **small)

    def inputs(self, model: nn.Module) -> dict[str, Any]:
        from gan3d.structures.cameras import orbit_cameras

        gen = torch.Generator().manual_seed(0)
        cameras = orbit_cameras([20.0] * self.batch, [float(70 * i) for i in range(self.batch)], 2.5, size=32)
        return {
            "images": torch.rand(self.batch, 1, 3, 32, 32, generator=gen),
            "normal_maps": torch.rand(self.batch, 1, 6, 32, 32, generator=gen) * 2 - 1,
            "cameras": cameras.reshape(self.batch, 1),
            "points": torch.rand(self.batch, 64, 3, generator=gen) - 0.5,
        }

    def forward(self, model: nn.Module, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = model(inputs["images"], inputs["cameras"], inputs["points"], normal_maps=inputs["normal_maps"])
        assert len(logits) == model.config["coarse_stacks"] + 1 and all(x.shape == (self.batch, 64) for x in logits)
        return {"fine": logits[-1], **{f"coarse{i}": x for i, x in enumerate(logits[:-1])}}


# the module that defines a family's builders -> its tester
TESTERS: dict[str, Tester] = {
    "gan3d.models.vae_gan": VoxelGanTester(),
    "gan3d.models.dibr_net": DibrNetTester(),
    "gan3d.models.texture_gan": TextureGanTester(),
    "gan3d.models.pifu": PifuTester(),
    "gan3d.models.normal_net": NormalNetTester(),
    "gan3d.models.pifuhd": PifuHDTester(),
}
