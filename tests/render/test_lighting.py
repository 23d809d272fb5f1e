"""Lighting: Lambert hand-computed; the SH basis orthonormal on the sphere (Monte Carlo, independent of
the formulas' constants being right by inspection)."""

from __future__ import annotations

import math

import pytest
import torch

from gan3d.render.lighting import lambertian, sh_basis, sh_lighting

F64 = torch.float64


def test_lambert_hand_computed_and_batched() -> None:
    normals = torch.tensor([[0.0, 0, 1], [0, 0, -1], [0, 1, 0], [0, math.sqrt(0.5), math.sqrt(0.5)]], dtype=F64)
    light = torch.tensor([0.0, 0.0, 2.0], dtype=F64)  # not unit: normalised
    torch.testing.assert_close(
        lambertian(normals, light, 0.1), torch.tensor([1.1, 0.1, 0.1, 0.1 + math.sqrt(0.5)], dtype=F64)
    )
    batch = lambertian(normals.expand(2, 4, 3), torch.tensor([[0, 0, 1.0], [0, 1.0, 0]], dtype=F64))
    torch.testing.assert_close(batch[1], torch.tensor([0.0, 0.0, 1.0, math.sqrt(0.5)], dtype=F64))


def test_sh_basis_is_orthonormal_on_the_sphere() -> None:
    generator = torch.Generator().manual_seed(0)
    n = torch.nn.functional.normalize(torch.randn(400_000, 3, generator=generator, dtype=F64), dim=1)
    y = sh_basis(n)
    gram = 4 * math.pi * (y.T @ y) / len(n)  # Monte Carlo integral of Y_i Y_j over the sphere
    torch.testing.assert_close(gram, torch.eye(9, dtype=F64), atol=0.02, rtol=0)  # MC error ~ 1/sqrt(N)


def test_sh_lighting_constant_and_linear_bands() -> None:
    n = torch.nn.functional.normalize(torch.randn(50, 3, dtype=F64), dim=1)
    c = torch.zeros(9, dtype=F64)
    c[0] = 2.0
    torch.testing.assert_close(sh_lighting(n, c), torch.full((50,), 2.0 * 0.5 * math.sqrt(1 / math.pi), dtype=F64))
    c = torch.zeros(9, dtype=F64)
    c[2] = 1.0  # Y_10 is proportional to z
    torch.testing.assert_close(sh_lighting(n, c), math.sqrt(3 / (4 * math.pi)) * n[:, 2])
    coefficients = torch.randn(9, dtype=F64, requires_grad=True)
    normals = n.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(sh_lighting, (normals, coefficients))
    assert sh_lighting(n.expand(3, 50, 3), torch.randn(3, 9, dtype=F64)).shape == (3, 50)
    with pytest.raises(RuntimeError):
        sh_lighting(n, torch.zeros(4, dtype=F64))
