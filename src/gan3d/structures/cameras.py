"""`Cameras`: a batch of pinhole cameras in torch, and the ways gan3d builds them.

Convention (OpenCV's, so models project points straight into the saved images): camera coordinates
x right, y down, z forward (depth > 0 in front). A world point `p` maps to camera coordinates
`R @ p + t` and to pixel coordinates `(u, v) = (fx x / z + cx, fy y / z + cy)`, where pixel
`(col, row)` covers `[col, col + 1) x [row, row + 1)`, so its centre is at `col + 0.5`.

Normalised device coordinates (NDC) are those of `torch.nn.functional.grid_sample` with
`align_corners=False`: x = -1 at the left edge of the image and +1 at its right edge, y = -1 at the
top edge and +1 at the bottom edge, i.e. `ndc = 2 * pixel / size - 1`. Sampling a feature map at
`pixel_to_ndc(project(p))` with `align_corners=False` reads the pixel that `p` projects into.

Every camera of a batch has the same image size; the batch shape is any leading shape: `()` for one
camera, `(V,)` for the views of one object, `(N, V)` for N objects with V views each. Everything is
differentiable and stays on the tensors' device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from gan3d.errors import DataError

UpAxis = Literal["x", "y", "z"]
_AXES = {"x": 0, "y": 1, "z": 2}
CONVENTION = "opencv: x right, y down, z forward; pixel centres at +0.5"

# 3D-R2N2's renderer (Choy et al. 2016) placed the camera at `distance ratio * 1.75` from the origin
# (the constant of the release's rendering script, also used by Mesh R-CNN and PyTorch3D's R2N2 loader).
R2N2_MAX_CAMERA_DISTANCE = 1.75
R2N2_IMAGE_SIZE = 137
# The renders' real field of view: Blender's 35 mm lens on its 32 mm sensor, 2 atan(16 / 35) = 49.1 degrees
# (Mesh R-CNN's `BLENDER_INTRINSIC`, focal 2.1875 in NDC). The metadata's fifth column (25) is not what the
# images were rendered with: silhouettes projected with it come out twice too large.
R2N2_FOV = math.degrees(2 * math.atan(16.0 / 35.0))


@dataclass(frozen=True)
class Cameras:
    """A batch of pinhole cameras (no distortion), batch shape `B` (any leading shape).

    Attributes:
        intrinsics: K, shape (*B, 3, 3): [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] in pixels.
        rotation: R, world-to-camera rotation, shape (*B, 3, 3).
        translation: t, world-to-camera translation, shape (*B, 3).
        width, height: image size in pixels, shared by the batch.
    """

    intrinsics: torch.Tensor
    rotation: torch.Tensor
    translation: torch.Tensor
    width: int
    height: int

    def __post_init__(self) -> None:
        batch = tuple(self.rotation.shape[:-2])
        if (
            tuple(self.intrinsics.shape) != (*batch, 3, 3)
            or tuple(self.rotation.shape) != (*batch, 3, 3)
            or tuple(self.translation.shape) != (*batch, 3)
        ):
            raise DataError(
                "<cameras>",
                f"intrinsics, rotation and translation must have shapes (*B, 3, 3), (*B, 3, 3), (*B, 3); got "
                f"{tuple(self.intrinsics.shape)}, {tuple(self.rotation.shape)}, {tuple(self.translation.shape)}",
            )

    # ---- batch handling ---------------------------------------------------------------------
    @property
    def batch_shape(self) -> torch.Size:
        return self.rotation.shape[:-2]

    @property
    def device(self) -> torch.device:
        return self.rotation.device

    @property
    def dtype(self) -> torch.dtype:
        return self.rotation.dtype

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError("a single camera (batch shape ()) has no len()")
        return int(self.batch_shape[0])

    def __getitem__(self, index: Any) -> Cameras:
        """Index the batch dimensions like a tensor: `cams[0]`, `cams[:, 2]`, `cams[mask]`."""
        if isinstance(index, tuple) and len(index) > len(self.batch_shape):
            raise IndexError(f"too many indices for cameras of batch shape {tuple(self.batch_shape)}")
        return Cameras(self.intrinsics[index], self.rotation[index], self.translation[index], self.width, self.height)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Cameras:
        return Cameras(
            self.intrinsics.to(device=device, dtype=dtype),
            self.rotation.to(device=device, dtype=dtype),
            self.translation.to(device=device, dtype=dtype),
            self.width,
            self.height,
        )

    def reshape(self, *shape: int) -> Cameras:
        """The same cameras with another batch shape (e.g. `(N * V,)` from `(N, V)`)."""
        return Cameras(
            self.intrinsics.reshape(*shape, 3, 3),
            self.rotation.reshape(*shape, 3, 3),
            self.translation.reshape(*shape, 3),
            self.width,
            self.height,
        )

    def resized(self, width: int, height: int) -> Cameras:
        """The same cameras for images resized to (width, height): K scaled per axis. Exact for the
        pixel-edge convention (a point at pixel coordinate u moves to u * width / self.width)."""
        scale = self.intrinsics.new_tensor([width / self.width, height / self.height, 1.0])
        return Cameras(self.intrinsics * scale[:, None], self.rotation, self.translation, width, height)

    @classmethod
    def stack(cls, cameras: Sequence[Cameras], dim: int = 0) -> Cameras:
        """Stack camera batches of equal batch shape and image size along a new batch dimension."""
        if not cameras:
            raise DataError("<cameras>", "nothing to stack")
        sizes = {(c.width, c.height) for c in cameras}
        if len(sizes) != 1:
            raise DataError("<cameras>", f"cannot stack cameras of different image sizes {sorted(sizes)}")
        if dim < 0:
            dim += len(cameras[0].batch_shape) + 1
        return cls(
            torch.stack([c.intrinsics for c in cameras], dim),
            torch.stack([c.rotation for c in cameras], dim),
            torch.stack([c.translation for c in cameras], dim),
            cameras[0].width,
            cameras[0].height,
        )

    # ---- frames -------------------------------------------------------------------------------
    @property
    def center(self) -> torch.Tensor:
        """Camera positions in world coordinates, shape (*B, 3)."""
        return -(self.rotation.transpose(-1, -2) @ self.translation.unsqueeze(-1)).squeeze(-1)

    @property
    def extrinsics(self) -> torch.Tensor:
        """World-to-camera matrices [R | t], shape (*B, 3, 4)."""
        return torch.cat([self.rotation, self.translation.unsqueeze(-1)], dim=-1)

    def world_to_camera(self, points: torch.Tensor) -> torch.Tensor:
        """Camera coordinates of world points: (*B, P, 3) -> (*B, P, 3) (one camera: (P, 3))."""
        rot, trans = self._matching(points)
        return points @ rot.transpose(-1, -2) + trans.unsqueeze(-2)

    def camera_to_world(self, points: torch.Tensor) -> torch.Tensor:
        """World coordinates of camera-frame points: (*B, P, 3) -> (*B, P, 3)."""
        rot, trans = self._matching(points)
        return (points - trans.unsqueeze(-2)) @ rot

    def camera_to_pixel(self, points: torch.Tensor) -> torch.Tensor:
        """Screen coordinates `(u, v, z)` of camera-frame points: pixels and depth, (*B, P, 3)."""
        k = self.intrinsics.to(points.dtype)
        z = points[..., 2]
        u = k[..., 0, 0, None] * points[..., 0] / z + k[..., 0, 2, None]
        v = k[..., 1, 1, None] * points[..., 1] / z + k[..., 1, 2, None]
        return torch.stack([u, v, z], dim=-1)

    def pixel_to_camera(self, pixels: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """Camera-frame points from pixel coordinates (*B, P, 2) and depth (*B, P): inverse of
        `camera_to_pixel`."""
        k = self.intrinsics.to(pixels.dtype)
        x = (pixels[..., 0] - k[..., 0, 2, None]) / k[..., 0, 0, None] * depth
        y = (pixels[..., 1] - k[..., 1, 2, None]) / k[..., 1, 1, None] * depth
        return torch.stack([x, y, depth], dim=-1)

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """Screen coordinates `(u, v, z)` of world points, (*B, P, 3): pixels and camera depth."""
        return self.camera_to_pixel(self.world_to_camera(points))

    def unproject(self, pixels: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """World points from pixels (*B, P, 2) and camera depth (*B, P): inverse of `project`."""
        return self.camera_to_world(self.pixel_to_camera(pixels, depth))

    def pixel_to_ndc(self, pixels: torch.Tensor) -> torch.Tensor:
        """NDC (`grid_sample`, `align_corners=False`) of pixel coordinates (..., 2): edges at -1 and +1."""
        size = pixels.new_tensor([self.width, self.height])
        return 2.0 * pixels[..., :2] / size - 1.0

    def ndc_to_pixel(self, ndc: torch.Tensor) -> torch.Tensor:
        """Pixel coordinates of NDC (..., 2): inverse of `pixel_to_ndc`."""
        size = ndc.new_tensor([self.width, self.height])
        return (ndc[..., :2] + 1.0) * size / 2.0

    def _matching(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = tuple(self.batch_shape)
        if points.shape[-1] != 3 or tuple(points.shape[: len(batch)]) != batch or points.ndim != len(batch) + 2:
            raise DataError(
                "<cameras>", f"points must have shape (*B, P, 3) with B = {batch}; got {tuple(points.shape)}"
            )
        return self.rotation.to(points.dtype), self.translation.to(points.dtype)

    # ---- serialisation ------------------------------------------------------------------------
    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready descriptions, one per camera in row-major batch order (see `from_dict`)."""
        flat = self.reshape(-1).to("cpu", torch.float64)
        out = []
        for k, r, t, c in zip(flat.intrinsics, flat.rotation, flat.translation, flat.center, strict=True):
            out.append(
                {
                    "convention": CONVENTION,
                    "width": self.width,
                    "height": self.height,
                    "intrinsics": k.tolist(),
                    "rotation": r.tolist(),
                    "translation": t.tolist(),
                    "extrinsics": torch.cat([r, t[:, None]], 1).tolist(),
                    "center": c.tolist(),
                    "fov_y": math.degrees(2 * math.atan(self.height / 2 / float(k[1, 1]))),
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON description of a single camera (batch shape ())."""
        if self.batch_shape:
            raise DataError("<cameras>", f"to_dict needs one camera; this batch has shape {tuple(self.batch_shape)}")
        return self.to_dicts()[0]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<camera>") -> Cameras:
        """One camera (batch shape ()) from a `to_dict` description; `source` names the file in errors."""
        try:
            k = torch.as_tensor(data["intrinsics"], dtype=torch.float64).reshape(3, 3)
            r = torch.as_tensor(data["rotation"], dtype=torch.float64).reshape(3, 3)
            t = torch.as_tensor(data["translation"], dtype=torch.float64).reshape(3)
            width, height = int(data["width"]), int(data["height"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise DataError(source, f"malformed camera ({type(err).__name__}: {err})") from None
        if not all(torch.isfinite(x).all() for x in (k, r, t)) or width < 1 or height < 1:
            raise DataError(source, "malformed camera (non-finite values or empty image size)")
        return cls(k.float(), r.float(), t.float(), width, height)


def intrinsics_from_fov(fov_deg: float, width: int, height: int, axis: Literal["x", "y"] = "y") -> torch.Tensor:
    """K (3, 3) for a field of view along `axis` (vertical by default), square pixels, principal point at
    the image centre."""
    extent = height if axis == "y" else width
    focal = extent / 2.0 / math.tan(math.radians(fov_deg) / 2.0)
    return torch.tensor([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World-to-camera (R (*B, 3, 3), t (*B, 3)) of cameras at `eye` (*B, 3) looking at `target`, with
    `up` pointing up in the image (it must not be parallel to the viewing direction)."""
    eye, target, up = torch.broadcast_tensors(*(torch.as_tensor(a, dtype=torch.float64) for a in (eye, target, up)))
    forward = torch.nn.functional.normalize(target - eye, dim=-1)
    right = torch.linalg.cross(forward, up, dim=-1)
    parallel = right.norm(dim=-1, keepdim=True) < 1e-9  # looking straight along `up`: any perpendicular
    right = torch.where(parallel, torch.linalg.cross(forward, up.roll(1, dims=-1), dim=-1), right)
    right = torch.nn.functional.normalize(right, dim=-1)
    down = torch.linalg.cross(forward, right, dim=-1)
    rotation = torch.stack([right, down, forward], dim=-2)  # rows: camera x, y, z axes in world coordinates
    return rotation, -(rotation @ eye.unsqueeze(-1)).squeeze(-1)


def orbit_eye(elevation: torch.Tensor, azimuth: torch.Tensor, distance: torch.Tensor, up_axis: UpAxis) -> torch.Tensor:
    """Positions (*B, 3) on a sphere around the origin: `elevation` degrees above the horizontal plane,
    `azimuth` degrees around the up axis, counter-clockwise seen from above, 0 along the first
    horizontal axis of the right-handed frame (x for z-up, z for y-up, y for x-up)."""
    el, az = torch.deg2rad(elevation), torch.deg2rad(azimuth)
    a, b = {"z": (0, 1), "y": (2, 0), "x": (1, 2)}[up_axis]
    coords = [None, None, None]
    coords[a] = distance * torch.cos(el) * torch.cos(az)
    coords[b] = distance * torch.cos(el) * torch.sin(az)
    coords[_AXES[up_axis]] = distance * torch.sin(el)
    return torch.stack(coords, dim=-1)  # type: ignore[arg-type]


def orbit_cameras(
    elevation: float | Sequence[float] | torch.Tensor,
    azimuth: float | Sequence[float] | torch.Tensor,
    distance: float | Sequence[float] | torch.Tensor,
    size: int | tuple[int, int] = 224,
    fov_y: float = 60.0,
    up_axis: UpAxis = "z",
    dtype: torch.dtype = torch.float32,
) -> Cameras:
    """Cameras on a sphere around the origin, looking at it (the MVCNN setup); the angles and distances
    broadcast to the batch shape (scalars give one camera).

    Args:
        elevation: degrees above the horizontal plane (MVCNN: 30).
        azimuth: degrees around the up axis (see `orbit_eye`).
        distance: distance from the origin in world units.
        size: image size, an int for square images or (width, height).
        fov_y: vertical field of view in degrees.
        up_axis: the world axis that points up in the images (ModelNet: z, ShapeNet: y).
        dtype: of the returned tensors (computed in float64).
    """
    width, height = (size, size) if isinstance(size, int) else size
    el, az, dist = torch.broadcast_tensors(
        *(torch.as_tensor(x, dtype=torch.float64) for x in (elevation, azimuth, distance))
    )
    up = torch.zeros(3, dtype=torch.float64)
    up[_AXES[up_axis]] = 1.0
    rotation, translation = look_at(orbit_eye(el, az, dist, up_axis), torch.zeros(3, dtype=torch.float64), up)
    k = intrinsics_from_fov(fov_y, width, height).expand(*el.shape, 3, 3)
    return Cameras(k.to(dtype).clone(), rotation.to(dtype), translation.to(dtype), width, height)


def r2n2_cameras(
    views: Sequence[dict[str, float]], size: int = R2N2_IMAGE_SIZE, dtype: torch.dtype = torch.float32
) -> Cameras:
    """The cameras (V,) of one 3D-R2N2 object from its `rendering_metadata.txt` rows.

    3D-R2N2's convention (its Blender script; the same as Mesh R-CNN's `compute_extrinsic_matrix`):
    the world is ShapeNet's model frame (y up, centred, unit bounding-box diagonal: the frame of the
    `ShapeNetVox32` grids, see `gan3d.data.shapenet.r2n2_grid_placement`); the camera sits at distance
    `distance ratio * 1.75` from the origin, `elevation` degrees above the x-z plane and `azimuth`
    degrees around y from +x towards +z (position `d (cos az cos el, sin el, sin az cos el)`), and
    looks at the origin with y up. The field of view is `R2N2_FOV` (49.1 degrees; the metadata's
    `fov` column is ignored, see there). `in_plane` rolls the camera about its viewing axis (every
    view of the release has 0, so its sign is an assumption).

    Args:
        views: dicts with `azimuth`, `elevation`, `in_plane`, `distance` (the ratio) and `fov`, as
            `gan3d.data.shapenet.read_rendering_metadata` returns them.
        size: image side (137 in the release).
        dtype: of the returned tensors (computed in float64).
    """
    if not views:
        raise DataError("<r2n2 metadata>", "no views")
    az = torch.tensor([v["azimuth"] for v in views], dtype=torch.float64)
    el = torch.tensor([v["elevation"] for v in views], dtype=torch.float64)
    dist = torch.tensor([v["distance"] for v in views], dtype=torch.float64) * R2N2_MAX_CAMERA_DISTANCE
    roll = torch.deg2rad(torch.tensor([v.get("in_plane", 0.0) for v in views], dtype=torch.float64))
    el, az = torch.deg2rad(el), torch.deg2rad(az)
    eye = dist[:, None] * torch.stack([torch.cos(el) * torch.cos(az), torch.sin(el), torch.cos(el) * torch.sin(az)], -1)
    rotation, translation = look_at(eye, torch.zeros(3, dtype=torch.float64), torch.tensor([0.0, 1.0, 0.0]))
    cos, sin, zero, one = torch.cos(roll), torch.sin(roll), torch.zeros_like(roll), torch.ones_like(roll)
    rolled = torch.stack(
        [torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1), torch.stack([zero, zero, one], -1)], -2
    )
    rotation, translation = rolled @ rotation, (rolled @ translation.unsqueeze(-1)).squeeze(-1)
    k = intrinsics_from_fov(R2N2_FOV, size, size).expand(len(views), 3, 3)
    return Cameras(k.to(dtype).clone(), rotation.to(dtype), translation.to(dtype), size, size)
