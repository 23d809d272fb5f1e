"""VGG16's convolutional part (Simonyan & Zisserman 2015), for the perceptual losses of DIB-R (§3.3) and
PIFuHD's normal maps: the activations of relu1_2, relu2_2, relu3_3 and relu4_3 of an image.

gan3d ships the architecture, never the weights, and downloads nothing: the user points to a local file
(`load_vgg16`), either safetensors or a torchvision checkpoint (`vgg16-397923af.pth`, read with
`weights_only=True`, never unpickled). The layer indices are torchvision's `vgg16().features`, so both
layouts' keys (`features.N.weight` or `N.weight`) load as they are; the classifier's keys are ignored.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from gan3d.errors import DataError

# torchvision's vgg16 "D" configuration: channels, "M" a 2 x 2 max-pool
_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
TAPS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}  # index in `features` after which to read
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Vgg16Features(nn.Module):
    """RGB images (B, 3, H, W) in [0, 1] → the activations at `TAPS` (a list, shallow to deep), after
    ImageNet normalisation. The weights are frozen (a perceptual loss does not train its VGG)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                channels = int(item)
        self.features = nn.Sequential(*layers)  # indices 0 .. 22 of torchvision's vgg16().features
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        out, taps = [], set(TAPS.values())
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in taps:
                out.append(x)
        return out


def load_vgg16(path: str | os.PathLike[str]) -> Vgg16Features:
    """`Vgg16Features` with the weights of a local file: safetensors (`.safetensors`) or a torchvision
    checkpoint (anything else, `torch.load(weights_only=True)`), keys `features.N.*` or `N.*`.

    Raises:
        DataError: the file is missing, unreadable, or lacks a convolution's weights of the right shape.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such VGG16 weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)  # noqa: TID251 - tensors only, never unpickles objects
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad file, said in one line
        raise DataError(path, f"not a readable weights file ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise DataError(path, "expected a state dict of tensors")
    model = Vgg16Features()
    wanted = model.features.state_dict()
    loaded = {}
    for key, expected in wanted.items():
        value = state.get(f"features.{key}", state.get(key))
        if not isinstance(value, torch.Tensor):
            raise DataError(path, f"missing VGG16 weights features.{key}")
        if value.shape != expected.shape:
            raise DataError(path, f"features.{key} has shape {tuple(value.shape)}, VGG16 needs {tuple(expected.shape)}")
        loaded[key] = value.float()
    model.features.load_state_dict(loaded)
    return model.eval()
