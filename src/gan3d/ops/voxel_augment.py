"""Differentiable random transforms of voxel-grid batches, applied with a probability p per sample.

This is the voxel version of the augmentations of adaptive discriminator augmentation (ADA, Karras et
al. 2020, "Training Generative Adversarial Networks with Limited Data"): a discriminator that sees every
grid, real and generated, through the same random transforms cannot win by memorising a small training
set, and as long as p stays below about 0.8 the generator cannot learn the transforms themselves (they
do not "leak"). Each transform is applied to a sample with probability p, independently:

- mirror: across the first horizontal axis, half of the times it is applied (so p = 1 is still
  unbiased);
- rotate: by 0, 90, 180 or 270 degrees about the up axis, uniformly;
- translate: by a whole number of voxels along each axis, uniform in [-shift, shift] (zeros enter);
- cutout: a cube of half the grid's side, centred uniformly in the grid, set to 0.

All of them only move or zero voxels, so binary grids stay binary and the gradient w.r.t. the input is
the same permutation/mask (written here because no well-kept library transforms 3D grids per sample).
"""

from __future__ import annotations

import torch


def augment_voxel_batch(
    grids: torch.Tensor, p: float, up_axis: int = 2, shift: float = 0.125, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Randomly transformed copy of `grids` (N, C, D, D, D), index order (x, y, z) after the channel.

    Args:
        grids: cubic voxel grids; any dtype; the result keeps shape, dtype and device.
        p: probability that each of the four transforms is applied to each sample (0 returns `grids`).
        up_axis: the grids' up axis in (x, y, z) order (2 for z-up ModelNet and the built-in data).
        shift: largest translation as a fraction of the side (ADA's 0.125).
        generator: random source on CPU (draws are made on CPU and moved, so runs are reproducible).
    """
    if grids.dim() != 5 or not grids.shape[2] == grids.shape[3] == grids.shape[4]:
        raise ValueError(f"expected cubic grids (N, C, D, D, D), got {tuple(grids.shape)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if p == 0.0:
        return grids
    n, side = grids.shape[0], grids.shape[-1]
    horizontal = [2 + a for a in range(3) if a != up_axis]

    def draw(size: tuple[int, ...] = ()) -> torch.Tensor:
        return torch.rand((n, *size), generator=generator).to(grids.device)

    def applied() -> torch.Tensor:
        return draw() < p

    def per_sample(mask: torch.Tensor) -> torch.Tensor:
        return mask.view(n, 1, 1, 1, 1)

    def on_some(out: torch.Tensor, chosen: torch.Tensor, transform) -> torch.Tensor:  # noqa: ANN001
        """`transform` applied to the chosen samples only (the others are not computed)."""
        rows = chosen.nonzero().squeeze(1)
        return out.index_copy(0, rows, transform(out[rows])) if len(rows) else out

    # mirror half of the times it is applied
    flip = applied() & (draw() < 0.5)
    out = on_some(grids, flip, lambda g: g.flip(horizontal[0]))
    # rotate about the up axis by k quarter turns
    quarter = torch.where(
        applied(), (draw() * 4).long().clamp(max=3), torch.zeros(n, dtype=torch.long, device=grids.device)
    )
    for k in (1, 2, 3):
        out = on_some(out, quarter == k, lambda g, k=k: torch.rot90(g, k, dims=horizontal))
    # translate by whole voxels: pad with zeros, then cut each sample's window
    reach = int(round(shift * side))
    if reach > 0:
        offsets = torch.where(
            applied()[:, None],
            (draw((3,)) * (2 * reach + 1)).long().clamp(max=2 * reach) - reach,
            torch.zeros(n, 3, dtype=torch.long, device=grids.device),
        ).tolist()
        padded = torch.nn.functional.pad(out, [reach] * 6)
        out = torch.stack(
            [
                padded[
                    i, :, reach - dx : reach - dx + side, reach - dy : reach - dy + side, reach - dz : reach - dz + side
                ]
                for i, (dx, dy, dz) in enumerate(offsets)
            ]
        )
    # cutout: zero a cube of half the side at a uniform centre
    centre = draw((3,)) * side
    idx = torch.arange(side, device=grids.device, dtype=centre.dtype) + 0.5
    inside = [(idx[None] - centre[:, a : a + 1]).abs() < side / 4 for a in range(3)]  # (N, D) per axis
    box = inside[0][:, :, None, None] & inside[1][:, None, :, None] & inside[2][:, None, None, :]
    cut = per_sample(applied()) & box[:, None]
    return torch.where(cut, torch.zeros((), dtype=out.dtype, device=out.device), out)
