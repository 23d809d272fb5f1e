from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from gan3d.data.synthetic import make_shape
from gan3d.render.normal_maps import normal_maps
from gan3d.structures.cameras import orbit_cameras


def _ray_cast(mesh: trimesh.Trimesh, cameras, size: int):  # noqa: ANN001, ANN202
    """Reference: first and last hit of each pixel-centre ray (trimesh's ray-triangle test), their face
    normals in each camera's frame: (front, back, mask) as numpy arrays (N, H, W, ...)."""
    from trimesh.ray.ray_triangle import RayMeshIntersector

    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    pixels = torch.stack([cols, rows], -1).reshape(1, -1, 2).double() + 0.5
    fronts, backs, masks = [], [], []
    intersector = RayMeshIntersector(mesh)
    for i in range(cameras.batch_shape[0]):
        cam = cameras[i : i + 1].to(dtype=torch.float64)
        target = cam.unproject(pixels, torch.ones(1, pixels.shape[1], dtype=torch.float64))[0].numpy()
        origin = cam.center[0].numpy()
        directions = target - origin
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        origins = np.repeat(origin[None], len(directions), axis=0)
        loc, ray, tri = intersector.intersects_location(origins, directions, multiple_hits=True)
        distance = np.linalg.norm(loc - origin, axis=1)
        rotation = cam.rotation[0].numpy()
        front = np.zeros((len(directions), 3))
        back = np.zeros((len(directions), 3))
        mask = np.zeros(len(directions), dtype=bool)
        for r in np.unique(ray):
            hits = np.flatnonzero(ray == r)
            first, last = hits[np.argmin(distance[hits])], hits[np.argmax(distance[hits])]
            front[r] = rotation @ mesh.face_normals[tri[first]]
            back[r] = rotation @ mesh.face_normals[tri[last]]
            mask[r] = True
        fronts.append(front.reshape(size, size, 3))
        backs.append(back.reshape(size, size, 3))
        masks.append(mask.reshape(size, size))
    return np.stack(fronts), np.stack(backs), np.stack(masks)


@pytest.mark.parametrize("name", ["person", "chair"])
def test_front_and_back_normals_match_ray_casting(name: str) -> None:
    shape = make_shape(name, 3)
    center, radius = shape.unit_sphere_normalization()
    verts = (shape.verts - center) / radius
    mesh = trimesh.Trimesh(verts, shape.faces, process=False)
    size = 40
    cameras = orbit_cameras(30.0, [0.0, 100.0], 2.2, size=size)
    maps = normal_maps(torch.from_numpy(verts).float(), torch.from_numpy(shape.faces), cameras)
    front, back, mask = _ray_cast(mesh, cameras, size)
    got_mask = maps.mask.numpy()
    assert (got_mask == mask).mean() > 0.98  # edge pixels may differ
    both = got_mask & mask
    cos_front = (maps.front.numpy() * front).sum(-1)[both]
    cos_back = (maps.back.numpy() * back).sum(-1)[both]
    assert (cos_front > 0.99).mean() > 0.97, (cos_front > 0.99).mean()
    assert (cos_back > 0.99).mean() > 0.97, (cos_back > 0.99).mean()
    # front surfaces face the camera, back ones away; both unit length where covered, 0 elsewhere
    assert (maps.front[..., 2][maps.mask] < 0).float().mean() > 0.95
    assert (maps.back[..., 2][maps.mask] > 0).float().mean() > 0.95
    torch.testing.assert_close(maps.front[maps.mask].norm(dim=-1), torch.ones(int(maps.mask.sum())))
    assert maps.back[~maps.mask].abs().max() == 0
