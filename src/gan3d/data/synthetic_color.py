"""Colour for the built-in dataset: per-part colours and procedural UV textures, deterministic by seed.

Each part of a procedural object (seat, legs, back, ...) gets a colour drawn from its class's palette and
one of four patterns — plain, stripes, checks or wood-like grain — painted into its own tile of one
texture atlas per object. A part's UVs are a planar projection along its thinnest bounding-box axis,
mapped into its tile; vertex colours hold each part's base colour, so a model can learn colour from
either representation (`Mesh.vertex_colors` or `Mesh.uvs` + `Mesh.texture`).
"""

from __future__ import annotations

import math

import numpy as np
import trimesh

from gan3d.structures.mesh import Mesh

ATLAS_SIZE = 256  # texture atlas side in pixels
PATTERNS = ("plain", "stripes", "checks", "wood")

# per-class base colours (RGB in [0, 1]): wood, fabric, metal, paint... picked per part with jitter
PALETTES: dict[str, list[tuple[float, float, float]]] = {
    "airplane": [(0.85, 0.86, 0.88), (0.75, 0.12, 0.12), (0.15, 0.25, 0.55), (0.35, 0.38, 0.40)],
    "bed": [(0.55, 0.36, 0.20), (0.90, 0.88, 0.82), (0.30, 0.40, 0.60), (0.70, 0.25, 0.30)],
    "bottle": [(0.10, 0.45, 0.20), (0.50, 0.30, 0.10), (0.20, 0.35, 0.70), (0.85, 0.85, 0.80)],
    "car": [(0.70, 0.08, 0.08), (0.10, 0.20, 0.50), (0.85, 0.85, 0.85), (0.10, 0.10, 0.10), (0.90, 0.75, 0.10)],
    "chair": [(0.55, 0.35, 0.18), (0.20, 0.20, 0.22), (0.70, 0.15, 0.15), (0.25, 0.45, 0.30), (0.80, 0.75, 0.65)],
    "lamp": [(0.85, 0.80, 0.60), (0.25, 0.25, 0.28), (0.70, 0.55, 0.20), (0.90, 0.90, 0.92)],
    "sofa": [(0.45, 0.30, 0.55), (0.25, 0.35, 0.55), (0.60, 0.50, 0.40), (0.30, 0.50, 0.35), (0.70, 0.20, 0.20)],
    "table": [(0.60, 0.40, 0.22), (0.40, 0.26, 0.14), (0.85, 0.85, 0.82), (0.20, 0.20, 0.20)],
    # skin tones first (a person's body parts come first), then cloth: denim, black, red, khaki, white
    "person": [
        (0.87, 0.70, 0.58),
        (0.60, 0.42, 0.30),
        (0.20, 0.30, 0.50),
        (0.12, 0.12, 0.14),
        (0.70, 0.15, 0.18),
        (0.65, 0.58, 0.40),
        (0.90, 0.90, 0.88),
    ],
    "vase": [(0.75, 0.35, 0.20), (0.20, 0.40, 0.65), (0.90, 0.88, 0.80), (0.25, 0.55, 0.45)],
}


def colored_mesh(parts: list[trimesh.Trimesh], class_name: str, rng: np.random.Generator) -> Mesh:
    """Merge `parts` into one `Mesh` with vertex colours, UVs and a texture atlas (uint8, 256 x 256)."""
    tiles = math.ceil(math.sqrt(len(parts)))
    tile = ATLAS_SIZE // tiles
    atlas = np.full((ATLAS_SIZE, ATLAS_SIZE, 3), 255, dtype=np.uint8)
    palette = PALETTES.get(class_name, PALETTES["chair"])
    # parts of the same role share a colour more often than not: draw a few colours per object
    colours = [_jitter(np.array(palette[rng.integers(len(palette))]), rng) for _ in range(min(3, len(parts)))]
    verts, faces, vertex_colors, uvs = [], [], [], []
    offset = 0
    for index, part in enumerate(parts):
        base = colours[index % len(colours)] if rng.random() < 0.8 else _jitter(np.array(palette[0]), rng)
        pattern = PATTERNS[rng.integers(len(PATTERNS))]
        row, col = divmod(index, tiles)
        atlas[row * tile : (row + 1) * tile, col * tile : (col + 1) * tile] = _paint(pattern, base, tile, rng)
        part_uv = _planar_uv(np.asarray(part.vertices))
        margin = 2.0 / tile  # keep bilinear lookups inside the tile
        local = margin + part_uv * (1 - 2 * margin)
        u = (col + local[:, 0]) / tiles * (tiles * tile / ATLAS_SIZE)
        v_top = (row + (1 - local[:, 1])) / tiles * (tiles * tile / ATLAS_SIZE)  # image rows from the top
        uvs.append(np.stack([u, 1.0 - v_top], axis=1))
        verts.append(np.asarray(part.vertices))
        faces.append(np.asarray(part.faces) + offset)
        vertex_colors.append(np.repeat(base[None], len(part.vertices), axis=0))
        offset += len(part.vertices)
    return Mesh(
        np.concatenate(verts).astype(np.float64),
        np.concatenate(faces).astype(np.int64),
        np.concatenate(vertex_colors).astype(np.float32),
        np.concatenate(uvs).astype(np.float32),
        atlas,
    )


def _jitter(colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(colour + rng.normal(0.0, 0.05, 3), 0.0, 1.0)


def _planar_uv(points: np.ndarray) -> np.ndarray:
    """UVs in [0, 1]^2: the part's vertices projected along its thinnest axis, scaled to its extent."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    extent = np.maximum(hi - lo, 1e-9)
    a, b = np.argsort(extent)[::-1][:2]  # the two longest axes
    return np.stack([(points[:, a] - lo[a]) / extent[a], (points[:, b] - lo[b]) / extent[b]], axis=1)


def _paint(pattern: str, base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One tile (size, size, 3) uint8 of `pattern` in shades of `base`."""
    y, x = np.mgrid[0:size, 0:size] / size
    dark = base * rng.uniform(0.45, 0.7)
    if pattern == "stripes":
        period = rng.uniform(0.12, 0.3)
        angle = rng.uniform(0, math.pi)
        t = ((x * math.cos(angle) + y * math.sin(angle)) / period) % 1.0 < 0.5
    elif pattern == "checks":
        n = int(rng.integers(3, 7))
        t = ((np.floor(x * n) + np.floor(y * n)) % 2) == 0
    elif pattern == "wood":
        # rings of a log cut along its length, bent by a smooth random wave: wood-like grain
        phase = rng.uniform(0, 2 * math.pi, 3)
        wave = 0.05 * np.sin(2 * math.pi * (2 * y + phase[0])) + 0.03 * np.sin(2 * math.pi * (5 * x + phase[1]))
        rings = np.sin(2 * math.pi * rng.uniform(6, 12) * (x + wave) + phase[2])
        shade = (0.5 + 0.5 * rings)[..., None]
        return np.round(255 * (dark + (base - dark) * shade)).clip(0, 255).astype(np.uint8)
    else:
        t = np.ones((size, size), dtype=bool)
    image = np.where(t[..., None], base, dark)
    return np.round(255 * image).clip(0, 255).astype(np.uint8)
