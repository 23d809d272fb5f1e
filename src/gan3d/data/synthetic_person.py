"""The built-in `person` class: articulated clothed people from closed primitives, deterministic by seed.

PIFu's subject (§4) is clothed humans. A person here is a skeleton of joints posed by a few angles
(standing, arms raised, arms out, walking), fleshed out with capsules (limbs, neck) and ellipsoids
(torso, pelvis, head), with varied proportions (height, shoulder and hip width, limb thickness, head
size) and clothing-like shapes on top: a loose coat, a skirt, a hat or a cap. Like the other classes
it is z-up with the feet on z = 0, facing -y, and a union of closed (overlapping) primitives. Legs carry
`metadata["part"] == LEGS` for per-part scores; the first part carries `metadata["pose"]`.
"""

from __future__ import annotations

import math

import numpy as np
import trimesh

POSES = ("standing", "arms_raised", "arms_out", "walking")
_UP = np.array([0.0, 0.0, 1.0])


def _capsule(p0: np.ndarray, p1: np.ndarray, radius: float) -> trimesh.Trimesh:
    """A closed capsule (cylinder with hemispherical caps) of `radius` from joint `p0` to joint `p1`."""
    axis = p1 - p0
    length = float(np.linalg.norm(axis))
    capsule = trimesh.creation.capsule(height=max(length, 1e-3), radius=radius, count=[10, 10])
    transform = trimesh.geometry.align_vectors(_UP, axis / max(length, 1e-9))
    transform[:3, 3] = (p0 + p1) / 2
    capsule.apply_transform(transform)
    return capsule


def _ellipsoid(center: np.ndarray, radii: tuple[float, float, float]) -> trimesh.Trimesh:
    sphere = trimesh.creation.icosphere(subdivisions=2)
    sphere.apply_scale(radii)
    sphere.apply_translation(center)
    return sphere


def _frustum(z0: float, z1: float, r0: float, r1: float, depth_ratio: float, sections: int = 24) -> trimesh.Trimesh:
    """A closed truncated cone from z0 (radius r0) up to z1 (radius r1), squashed front-to-back."""
    profile = np.array([(0.0, z0), (r0, z0), (r1, z1), (0.0, z1)])
    solid = trimesh.creation.revolve(profile, sections=sections)
    solid.apply_scale((1.0, depth_ratio, 1.0))
    return solid


def _direction(abduction: float, flexion: float, side: float) -> np.ndarray:
    """A unit limb direction: hanging down (-z), swung `abduction` degrees out to `side` (±1 along x)
    and `flexion` degrees forward (towards -y)."""
    a, f = math.radians(abduction), math.radians(flexion)
    return np.array([side * math.sin(a) * math.cos(f), -math.cos(a) * math.sin(f), -math.cos(a) * math.cos(f)])


def person(rng: np.random.Generator) -> list[trimesh.Trimesh]:
    """One clothed person in one of `POSES`, proportions and clothes drawn from `rng`."""
    height = rng.uniform(1.5, 1.9)
    shoulder_w = height * rng.uniform(0.2, 0.26)
    hip_w = height * rng.uniform(0.15, 0.2)
    limb_r = height * rng.uniform(0.022, 0.034)
    head_r = height * rng.uniform(0.055, 0.068)
    leg_len = height * rng.uniform(0.45, 0.5)
    arm_len = height * rng.uniform(0.36, 0.42)
    hip_z = leg_len + limb_r
    shoulder_z = height - 2 * head_r - height * 0.05
    torso_depth = shoulder_w * rng.uniform(0.45, 0.6)
    pose = POSES[rng.integers(len(POSES))]

    # arm and leg angles per side (+1 is the person's left, +x): (abduction, flexion, bend at elbow/knee)
    swing = rng.uniform(15, 35)
    arms, legs = {}, {}
    for side in (-1.0, 1.0):
        if pose == "arms_raised":
            arms[side] = (rng.uniform(130, 170), rng.uniform(-10, 10), rng.uniform(0, 25))
        elif pose == "arms_out":
            arms[side] = (rng.uniform(70, 100), rng.uniform(-15, 15), rng.uniform(0, 30))
        elif pose == "walking":
            arms[side] = (rng.uniform(5, 12), side * swing, rng.uniform(10, 40))
        else:
            arms[side] = (rng.uniform(4, 18), rng.uniform(-10, 10), rng.uniform(0, 20))
        stride = -side * swing * 0.8 if pose == "walking" else rng.uniform(-4, 4)
        legs[side] = (rng.uniform(2, 8), stride, rng.uniform(0, 25) if pose == "walking" else rng.uniform(0, 5))

    parts: list[trimesh.Trimesh] = []
    # legs: thigh and shin (the shin bends back at the knee), a foot pointing forward
    for side, (abduction, flexion, bend) in legs.items():
        hip = np.array([side * hip_w / 2 * 0.6, 0.0, hip_z])
        knee = hip + leg_len / 2 * _direction(abduction, flexion, side)
        ankle = knee + leg_len / 2 * _direction(abduction, flexion - bend, side)
        foot = ankle + np.array([0.0, -height * 0.07, 0.0])
        for a, b, r in ((hip, knee, limb_r * 1.5), (knee, ankle, limb_r * 1.15), (ankle, foot, limb_r * 0.9)):
            part = _capsule(a, b, r)
            part.metadata["part"] = "legs"
            parts.append(part)
    # trunk, neck and head
    trunk_h = shoulder_z - hip_z
    parts.append(
        _ellipsoid(np.array([0, 0, hip_z + trunk_h * 0.55]), (shoulder_w / 2, torso_depth / 2, trunk_h * 0.55))
    )
    parts.append(
        _ellipsoid(np.array([0, 0, hip_z + trunk_h * 0.08]), (hip_w / 2, torso_depth / 2 * 0.9, trunk_h * 0.22))
    )
    neck_top = np.array([0, 0, shoulder_z + height * 0.05])
    parts.append(_capsule(np.array([0, 0, shoulder_z - height * 0.02]), neck_top, limb_r * 1.1))
    head_c = neck_top + np.array([0, -head_r * 0.1, head_r * 0.85])
    parts.append(_ellipsoid(head_c, (head_r * 0.85, head_r * 0.95, head_r)))
    # arms: upper arm and forearm (bending forward at the elbow), a hand
    for side, (abduction, flexion, bend) in arms.items():
        shoulder = np.array([side * (shoulder_w / 2 - limb_r), 0.0, shoulder_z - limb_r])
        elbow = shoulder + arm_len * 0.48 * _direction(abduction, flexion, side)
        wrist = elbow + arm_len * 0.42 * _direction(abduction, flexion + bend, side)
        parts.append(_capsule(shoulder, elbow, limb_r * 1.05))
        parts.append(_capsule(elbow, wrist, limb_r * 0.85))
        parts.append(_ellipsoid(wrist + (wrist - elbow) * 0.15, (limb_r * 1.1, limb_r * 1.1, limb_r * 1.1)))
    # clothes
    depth_ratio = torso_depth / shoulder_w * 1.3
    garment = rng.choice(["coat", "skirt", "none"], p=[0.35, 0.3, 0.35])
    if garment == "coat":
        hem = hip_z - leg_len * rng.uniform(0.25, 0.7)
        parts.append(
            _frustum(hem, shoulder_z, shoulder_w / 2 * rng.uniform(0.95, 1.3), shoulder_w / 2 * 0.95, depth_ratio)
        )
    elif garment == "skirt":
        hem = hip_z - leg_len * rng.uniform(0.25, 0.75)
        waist = hip_z + trunk_h * 0.2
        parts.append(_frustum(hem, waist, hip_w / 2 * rng.uniform(1.3, 1.9), hip_w / 2 * 1.05, 0.8))
    if rng.random() < 0.35:  # a hat: brim and crown, or a round cap
        top = head_c + np.array([0, 0, head_r * 0.55])
        if rng.random() < 0.5:
            brim = trimesh.creation.cylinder(radius=head_r * rng.uniform(1.4, 2.0), height=head_r * 0.08, sections=24)
            brim.apply_translation(top)
            crown = trimesh.creation.cylinder(radius=head_r * 0.8, height=head_r * rng.uniform(0.5, 0.9), sections=24)
            crown.apply_translation(top + np.array([0, 0, head_r * 0.3]))
            parts += [brim, crown]
        else:
            parts.append(_ellipsoid(top, (head_r * 0.95, head_r, head_r * 0.6)))
    ground = min(float(p.vertices[:, 2].min()) for p in parts)  # bent knees lift the feet: stand on z = 0
    for part in parts:
        part.apply_translation((0.0, 0.0, -ground))
    parts[0].metadata["pose"] = pose
    return parts
