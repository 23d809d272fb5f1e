"""Pinhole cameras: intrinsics, extrinsics, projection, orbits, and a JSON round trip.

Convention (OpenCV's, so that later models can project points straight into the saved images):
camera coordinates x right, y down, z forward (depth > 0 in front); a world point `p` maps to
camera coordinates `R @ p + t` and to pixel coordinates `(u, v) = (fx x / z + cx, fy y / z + cy)`,
where pixel `(col, row)` covers `[col, col + 1) x [row, row + 1)` so its centre is at `col + 0.5`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from gan3d.errors import DataError

UpAxis = Literal["x", "y", "z"]
_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class Camera:
    """A pinhole camera (no distortion).

    Attributes:
        intrinsics: K, shape (3, 3): [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] in pixels.
        rotation: R, world-to-camera rotation, shape (3, 3).
        translation: t, world-to-camera translation, shape (3,).
        width, height: image size in pixels.
        elevation, azimuth, distance: the orbit that produced the camera (degrees, degrees, world
            units), kept for datasets that condition on the view; 0 when not from an orbit.
    """

    intrinsics: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    width: int
    height: int
    elevation: float = 0.0
    azimuth: float = 0.0
    distance: float = 0.0

    @property
    def center(self) -> np.ndarray:
        """Camera position in world coordinates, shape (3,)."""
        return -self.rotation.T @ self.translation

    @property
    def extrinsics(self) -> np.ndarray:
        """World-to-camera matrix [R | t], shape (3, 4)."""
        return np.concatenate([self.rotation, self.translation[:, None]], axis=1)

    def world_to_camera(self, points: torch.Tensor) -> torch.Tensor:
        """Camera coordinates of world points, shape (..., 3) -> (..., 3)."""
        rot = torch.as_tensor(self.rotation, dtype=points.dtype, device=points.device)
        trans = torch.as_tensor(self.translation, dtype=points.dtype, device=points.device)
        return points @ rot.T + trans

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """Screen coordinates `(u, v, z)` of world points, shape (..., 3): pixels and camera depth."""
        cam = self.world_to_camera(points)
        k = torch.as_tensor(self.intrinsics, dtype=points.dtype, device=points.device)
        z = cam[..., 2]
        u = k[0, 0] * cam[..., 0] / z + k[0, 2]
        v = k[1, 1] * cam[..., 1] / z + k[1, 2]
        return torch.stack([u, v, z], dim=-1)

    def unproject(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """World points from pixel coordinates (..., 2) and camera depth (...): inverse of `project`."""
        k = self.intrinsics
        x = (pixels[..., 0] - k[0, 2]) / k[0, 0] * depth
        y = (pixels[..., 1] - k[1, 2]) / k[1, 1] * depth
        cam = np.stack([x, y, depth], axis=-1)
        return (cam - self.translation) @ self.rotation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (matrices as nested lists, row-major)."""
        return {
            "convention": "opencv: x right, y down, z forward; pixel centres at +0.5",
            "width": self.width,
            "height": self.height,
            "intrinsics": self.intrinsics.tolist(),
            "rotation": self.rotation.tolist(),
            "translation": self.translation.tolist(),
            "extrinsics": self.extrinsics.tolist(),
            "center": self.center.tolist(),
            "elevation": self.elevation,
            "azimuth": self.azimuth,
            "distance": self.distance,
            "fov_y": math.degrees(2 * math.atan(self.height / 2 / self.intrinsics[1, 1])),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<camera>") -> Camera:
        """Rebuild a camera written by `to_dict`; `source` names the file in errors."""
        try:
            camera = cls(
                intrinsics=np.asarray(data["intrinsics"], dtype=np.float64).reshape(3, 3),
                rotation=np.asarray(data["rotation"], dtype=np.float64).reshape(3, 3),
                translation=np.asarray(data["translation"], dtype=np.float64).reshape(3),
                width=int(data["width"]),
                height=int(data["height"]),
                elevation=float(data.get("elevation", 0.0)),
                azimuth=float(data.get("azimuth", 0.0)),
                distance=float(data.get("distance", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(source, f"malformed camera ({type(err).__name__}: {err})") from None
        return camera


def intrinsics_from_fov(fov_y_deg: float, width: int, height: int) -> np.ndarray:
    """K for a vertical field of view, square pixels, principal point at the image centre."""
    focal = height / 2.0 / math.tan(math.radians(fov_y_deg) / 2.0)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera (R, t) of a camera at `eye` looking at `target`, `up` pointing up in the image."""
    eye, target, up = (np.asarray(a, dtype=np.float64) for a in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: pick any perpendicular
        right = np.cross(forward, np.roll(up, 1))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # rows: camera x, y, z axes in world coordinates
    return rotation, -rotation @ eye


def orbit_camera(
    elevation: float,
    azimuth: float,
    distance: float,
    size: int | tuple[int, int] = 224,
    fov_y: float = 60.0,
    up_axis: UpAxis = "z",
) -> Camera:
    """A camera on a sphere around the origin, looking at it (the MVCNN setup).

    Args:
        elevation: degrees above the horizontal plane (MVCNN: 30).
        azimuth: degrees around the up axis, counter-clockwise seen from above, 0 along the first
            horizontal axis (x for z-up, z for y-up).
        distance: distance from the origin in world units.
        size: image size, an int for square images or (width, height).
        fov_y: vertical field of view in degrees.
        up_axis: the world axis that points up in the images (ModelNet: z, ShapeNet: y).
    """
    width, height = (size, size) if isinstance(size, int) else size
    el, az = math.radians(elevation), math.radians(azimuth)
    up = np.zeros(3)
    up[_AXES[up_axis]] = 1.0
    a, b = [i for i in range(3) if i != _AXES[up_axis]]
    if up_axis == "y":  # keep a right-handed (horizontal-1, horizontal-2, up) frame: (z, x, y)
        a, b = 2, 0
    eye = np.zeros(3)
    eye[a] = distance * math.cos(el) * math.cos(az)
    eye[b] = distance * math.cos(el) * math.sin(az)
    eye[_AXES[up_axis]] = distance * math.sin(el)
    rotation, translation = look_at(eye, np.zeros(3), up)
    return Camera(
        intrinsics_from_fov(fov_y, width, height), rotation, translation, width, height, elevation, azimuth, distance
    )
