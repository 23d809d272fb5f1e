"""Labelled query points for implicit-surface training (PIFu §4.5): where to ask "inside or out?".

Per object, a pool of candidates is drawn once: surface points uniform by area perturbed with
N(0, σ²) (PIFu's importance sampling near the surface) plus a share uniform in the cube [-1, 1]³
that surfaces are extracted from (grown to the object's padded bounding box where it pokes out); each
is labelled by the generalized winding number (`gan3d.ops.winding`: robust to overlapping parts
and small holes). Each epoch then takes a fresh, balanced draw from the pool: half inside, half
outside, as PIFu does (when one side runs short, the other fills in).

σ: PIFu perturbs by 5 cm on people about 1.8 m tall; objects here are normalised into the unit sphere,
so a person is about 2 units tall and 5 cm becomes about 0.05.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from gan3d.ops.winding import winding_number
from gan3d.structures.mesh import Mesh, sample_surface


@dataclass(frozen=True)
class OccupancySampling:
    """How query points are drawn.

    Attributes:
        points: points per object per epoch (PIFu: 5,000 at 512 px; fewer at CPU sizes).
        sigma: standard deviation of the Gaussian perturbation of surface points (unit-sphere frame).
        uniform_fraction: share of the pool drawn uniformly in the extraction cube (PIFu: 1/16; more
            keeps free space far from the surface empty at small pools).
        pool_factor: the labelled pool holds `pool_factor × points` candidates, drawn once per object.
        padding: how far (fraction of the largest extent) the uniform box reaches beyond the object where
            the object pokes out of the cube [-1, 1]³; the box is that cube otherwise.
    """

    points: int = 2048
    sigma: float = 0.05
    uniform_fraction: float = 0.25
    pool_factor: int = 4
    padding: float = 0.1

    def __post_init__(self) -> None:
        if self.points < 2 or self.sigma <= 0 or not 0 <= self.uniform_fraction <= 1 or self.pool_factor < 1:
            raise ValueError("occupancy sampling needs points >= 2, sigma > 0, uniform_fraction in [0, 1], pool >= 1")


def occupancy_pool(mesh: Mesh, settings: OccupancySampling, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The labelled candidate pool of one mesh: (points float32 (M, 3), inside bool (M,)), M =
    `pool_factor × points`, the same for the same seed."""
    total = settings.points * settings.pool_factor
    n_uniform = int(round(total * settings.uniform_fraction))
    rng = np.random.default_rng(seed)
    surface, _ = sample_surface(mesh, total - n_uniform, seed=seed)
    near = surface + rng.normal(scale=settings.sigma, size=surface.shape)
    low, high = mesh.verts.min(axis=0), mesh.verts.max(axis=0)
    pad = settings.padding * float((high - low).max())
    # the whole extraction cube, not only the object's box: at test time the surface is looked for in
    # [-1, 1]^3 (`gan3d.ops.mise`), and points along the input view's rays far from the object must have
    # been seen as outside (PIFu samples its fixed capture volume)
    low, high = np.minimum(low - pad, -1.0), np.maximum(high + pad, 1.0)
    uniform = rng.uniform(low, high, size=(n_uniform, 3))
    points = np.concatenate([near, uniform]).astype(np.float32)
    inside = winding_number(torch.from_numpy(points), torch.from_numpy(mesh.verts), torch.from_numpy(mesh.faces))
    return points, (inside > 0.5).numpy()


def balanced_draw(
    points: np.ndarray, inside: np.ndarray, n: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` points of a pool, half inside and half outside where the pool allows, in random order:
    (points float32 (n, 3), occupancy float32 (n,) in {0, 1})."""
    inner = np.flatnonzero(inside)
    outer = np.flatnonzero(~inside)
    n_in = min(len(inner), n // 2)
    n_out = min(len(outer), n - n_in)
    n_in = min(len(inner), n - n_out)  # the inside fills in when the outside runs short
    pick_in = inner[torch.randperm(len(inner), generator=generator)[:n_in].numpy()]
    pick_out = outer[torch.randperm(len(outer), generator=generator)[:n_out].numpy()]
    chosen = np.concatenate([pick_in, pick_out])
    chosen = chosen[torch.randperm(len(chosen), generator=generator).numpy()]
    return torch.from_numpy(points[chosen]), torch.from_numpy(inside[chosen].astype(np.float32))


CACHE_DIR = ".gan3d_cache"  # beside the mesh: hidden, so no dataset scanner reads it as data
POOL_VERSION = 2  # bumped whenever occupancy_pool draws differently, so older cached pools are not read


def cached_occupancy_pool(
    mesh_path: str | os.PathLike[str],
    settings: OccupancySampling,
    normalization: tuple[np.ndarray, float] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """`occupancy_pool` of the mesh file at `mesh_path` (moved into its views' frame by
    `normalization` = (centre, radius), `unit = (mesh - centre) / radius`), kept on disk in
    `.gan3d_cache/` beside the mesh so later epochs and runs do not label it again.

    The cache file's name hashes everything the pool depends on (the settings, the seed, the
    normalisation and the mesh file's size and modification time), so a changed mesh or setting never
    reads a stale pool; files are written atomically, and an unwritable folder only costs the cache.
    """
    from gan3d.errors import DataError
    from gan3d.files import write_bytes_atomic
    from gan3d.io.mesh import load_mesh

    mesh_path = Path(mesh_path)
    stat = mesh_path.stat()
    key = json.dumps(
        [
            POOL_VERSION,
            asdict(settings) | {"points": settings.points * settings.pool_factor, "pool_factor": 1},
            seed,
            None if normalization is None else [list(map(float, normalization[0])), float(normalization[1])],
            stat.st_size,
            stat.st_mtime_ns,
        ]
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    cache = mesh_path.parent / CACHE_DIR / f"{mesh_path.stem}_occupancy_{digest}.npz"
    total = settings.points * settings.pool_factor
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as data:
                points, inside = data["points"], data["inside"]
            if points.shape == (total, 3) and inside.shape == (total,) and inside.dtype == bool:
                return points.astype(np.float32), inside
        except (OSError, ValueError, KeyError):
            pass  # unreadable: label again and overwrite it
    mesh = load_mesh(mesh_path)
    if normalization is not None:
        center, radius = normalization
        mesh = mesh.with_verts((mesh.verts - center) / radius)
    points, inside = occupancy_pool(mesh, settings, seed)
    buffer = io.BytesIO()
    np.savez(buffer, points=points, inside=inside)
    try:
        write_bytes_atomic(cache, buffer.getvalue())
    except DataError:
        pass  # a read-only dataset folder: the pool stays in memory only
    return points, inside
