"""gan3d's own VGG16 definition reads torchvision's and safetensors layouts of local weight files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan3d.errors import DataError
from gan3d.models.vgg import TAPS, Vgg16Features, load_vgg16

# torchvision's vgg16().features up to relu4_3: the index of each convolution and its (out, in) channels
TORCHVISION_CONVS = {0: (64, 3), 2: (64, 64), 5: (128, 64), 7: (128, 128), 10: (256, 128), 12: (256, 256),
                     14: (256, 256), 17: (512, 256), 19: (512, 512), 21: (512, 512)}  # fmt: skip


def _torchvision_state(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for index, (out, inp) in TORCHVISION_CONVS.items():
        state[f"features.{index}.weight"] = 0.05 * torch.randn(out, inp, 3, 3, generator=gen)
        state[f"features.{index}.bias"] = 0.05 * torch.randn(out, generator=gen)
    state["classifier.0.weight"] = torch.zeros(4, 4)  # ignored
    return state


def test_layout_and_taps_are_torchvisions() -> None:
    model = Vgg16Features()
    shapes = {k: tuple(v.shape) for k, v in model.features.state_dict().items()}
    expected = {}
    for index, (out, inp) in TORCHVISION_CONVS.items():
        expected[f"{index}.weight"], expected[f"{index}.bias"] = (out, inp, 3, 3), (out,)
    assert shapes == expected
    assert TAPS == {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)]
    assert all((o >= 0).all() for o in outs)  # after the ReLUs
    assert not any(p.requires_grad for p in model.parameters())


def test_loads_torchvision_pth_and_safetensors_alike(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = _torchvision_state()
    torch.save(state, tmp_path / "vgg16.pth")
    save_file({k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")},
              str(tmp_path / "vgg16.safetensors"))  # fmt: skip
    a, b = load_vgg16(tmp_path / "vgg16.pth"), load_vgg16(tmp_path / "vgg16.safetensors")
    torch.testing.assert_close(a.features[21].weight, state["features.21.weight"])
    images = torch.rand(1, 3, 16, 16)
    for x, y in zip(a(images), b(images), strict=True):
        torch.testing.assert_close(x, y)
    # the first tap by hand: conv1_1 -> relu -> conv1_2 -> relu of the ImageNet-normalised image
    mean, std = (
        torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1),
        torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1),
    )
    x = torch.relu(
        torch.nn.functional.conv2d(
            (images - mean) / std, state["features.0.weight"], state["features.0.bias"], padding=1
        )
    )
    x = torch.relu(torch.nn.functional.conv2d(x, state["features.2.weight"], state["features.2.bias"], padding=1))
    torch.testing.assert_close(a(images)[0], x)


def test_bad_weight_files_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such VGG16"):
        load_vgg16(tmp_path / "missing.pth")
    state = _torchvision_state()
    del state["features.19.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(DataError, match=r"partial\.pth.*features\.19\.weight"):
        load_vgg16(tmp_path / "partial.pth")
    state = _torchvision_state()
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(DataError, match="shape"):
        load_vgg16(tmp_path / "shape.pth")
    torch.save({"features.0.weight": Path("x")}, tmp_path / "pickled.pth")  # an object: weights_only refuses
    with pytest.raises(DataError, match="not a readable weights file"):
        load_vgg16(tmp_path / "pickled.pth")
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(DataError, match="junk"):
        load_vgg16(tmp_path / "junk.safetensors")
