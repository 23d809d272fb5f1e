"""Lighting models of DIB-R (§3.2): Lambertian with a directional light, and spherical-harmonics lighting
(DIB-R's third model, 9 coefficients: bands 0-2). Both act on per-pixel unit normals, so they compose with
`dibr_render`'s interpolated normals; differentiable in the normals and the light parameters."""

from __future__ import annotations

import math

import torch

# real spherical-harmonics constants of bands 0..2 (Ramamoorthi & Hanrahan 2001), orthonormal on the sphere
_C0 = 0.5 * math.sqrt(1 / math.pi)
_C1 = math.sqrt(3 / (4 * math.pi))
_C2 = 0.5 * math.sqrt(15 / math.pi)
_C3 = 0.25 * math.sqrt(5 / math.pi)
_C4 = 0.25 * math.sqrt(15 / math.pi)


def lambertian(
    normals: torch.Tensor, light_dir: torch.Tensor, ambient: float | torch.Tensor = 0.0, intensity: float = 1.0
) -> torch.Tensor:
    """`ambient + intensity * max(0, n . l)` per pixel.

    Args:
        normals: unit normals (..., 3) (e.g. (N, H, W, 3)).
        light_dir: unit direction *towards* the light, (3,) or (N, 3) for a batch (broadcast over pixels).
    """
    light = torch.nn.functional.normalize(light_dir.to(normals.dtype), dim=-1)
    while light.ndim < normals.ndim:
        light = light.unsqueeze(-2)
    return ambient + intensity * (normals * light).sum(-1).clamp(min=0.0)


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """The 9 real SH basis functions Y_00, Y_1-1, Y_10, Y_11, Y_2-2, Y_2-1, Y_20, Y_21, Y_22 at unit
    normals (..., 3) -> (..., 9)."""
    x, y, z = normals.unbind(-1)
    return torch.stack(
        [
            torch.full_like(x, _C0),
            _C1 * y,
            _C1 * z,
            _C1 * x,
            _C2 * x * y,
            _C2 * y * z,
            _C3 * (3 * z * z - 1),
            _C2 * x * z,
            _C4 * (x * x - y * y),
        ],
        -1,
    )


def sh_lighting(normals: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """Irradiance Σ_k c_k Y_k(n) per pixel: `coefficients` (9,) or (N, 9) (broadcast over pixels),
    `normals` (..., 3) unit."""
    basis = sh_basis(normals)
    c = coefficients.to(basis.dtype)
    while c.ndim < basis.ndim:
        c = c.unsqueeze(-2)
    return (basis * c).sum(-1)
