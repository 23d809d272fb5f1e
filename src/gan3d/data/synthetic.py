"""The built-in dataset: procedural everyday objects from trimesh primitives, deterministic by seed.

Each class has real variation in structure and proportions (chairs with 3 or 4 legs or a swivel base,
with or without arms, straight or slanted backs; sedans, vans and pickups; ...), so a model trained on
it must learn shape, not memorise one template. Objects are z-up like ModelNet, front along -y, and
built from closed primitives (overlaps allowed), so every object is a closed surface.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import trimesh

from gan3d.data.synthetic_person import person
from gan3d.errors import ConfigError
from gan3d.structures.mesh import Mesh

Parts = list[trimesh.Trimesh]
LEGS = "legs"  # the `metadata["part"]` of the parts under a chair's seat or a table's top


def _box(center: tuple[float, float, float], size: tuple[float, float, float]) -> trimesh.Trimesh:
    return trimesh.creation.box(extents=size, transform=trimesh.transformations.translation_matrix(center))


def _rod(
    p0: tuple[float, float, float], p1: tuple[float, float, float], radius: float, sections: int = 10
) -> trimesh.Trimesh:
    return trimesh.creation.cylinder(radius=radius, segment=np.array([p0, p1], dtype=float), sections=sections)


def _disc(center: tuple[float, float, float], radius: float, height: float, sections: int = 24) -> trimesh.Trimesh:
    disc = trimesh.creation.cylinder(radius=radius, height=height, sections=sections)
    disc.apply_translation(center)
    return disc


def _rotated(
    mesh: trimesh.Trimesh, angle_deg: float, axis: tuple[float, float, float], point: tuple[float, float, float]
) -> trimesh.Trimesh:
    mesh.apply_transform(trimesh.transformations.rotation_matrix(math.radians(angle_deg), axis, point))
    return mesh


def _legs(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Tag a part as holding the object up (legs, pedestal, base), for per-part scores
    (`gan3d.data.synthetic_parts`); the geometry is unchanged."""
    mesh.metadata["part"] = LEGS
    return mesh


def chair(rng: np.random.Generator) -> Parts:
    """Chairs: 3 or 4 legs or a swivel base; arms or not; straight or slanted back; square or round seat."""
    w, d = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6)
    seat_h, seat_t = rng.uniform(0.4, 0.5), rng.uniform(0.04, 0.08)
    back_h = rng.uniform(0.35, 0.6)
    parts: Parts = []
    round_seat = rng.random() < 0.25
    if round_seat:
        parts.append(_disc((0, 0, seat_h), max(w, d) / 2, seat_t))
    else:
        parts.append(_box((0, 0, seat_h), (w, d, seat_t)))
    base = rng.choice(["four", "three", "swivel"], p=[0.55, 0.15, 0.3])
    leg_r = rng.uniform(0.015, 0.03)
    top = seat_h - seat_t / 2
    if base == "four":
        for sx in (-1, 1):
            for sy in (-1, 1):
                x, y = sx * (w / 2 - leg_r), sy * (d / 2 - leg_r)
                splay = rng.uniform(0.0, 0.05)
                parts.append(_legs(_rod((x, y, top), (x + sx * splay, y + sy * splay, 0.0), leg_r)))
    elif base == "three":
        for k in range(3):
            a = 2 * math.pi * k / 3 + math.pi / 2
            r = min(w, d) / 2 - leg_r
            parts.append(
                _legs(
                    _rod(
                        (r * math.cos(a), r * math.sin(a), top),
                        (1.2 * r * math.cos(a), 1.2 * r * math.sin(a), 0),
                        leg_r,
                    )
                )
            )
    else:
        column_top = top
        parts.append(_legs(_rod((0, 0, column_top), (0, 0, 0.08), rng.uniform(0.025, 0.04))))
        n_feet = int(rng.choice([4, 5]))
        for k in range(n_feet):
            a = 2 * math.pi * k / n_feet
            reach = rng.uniform(0.25, 0.35)
            parts.append(_legs(_rod((0, 0, 0.08), (reach * math.cos(a), reach * math.sin(a), 0.03), 0.02)))
            parts.append(_legs(_disc((reach * math.cos(a), reach * math.sin(a), 0.025), 0.03, 0.05, sections=8)))
    back_t = rng.uniform(0.03, 0.06)
    back = _box((0, d / 2 - back_t / 2, seat_h + seat_t / 2 + back_h / 2), (w, back_t, back_h))
    if rng.random() < 0.5:  # slanted back
        _rotated(back, -rng.uniform(5, 20), (1, 0, 0), (0, d / 2, seat_h))
    parts.append(back)
    if rng.random() < 0.4:  # arms
        arm_h = rng.uniform(0.18, 0.28)
        for sx in (-1, 1):
            x = sx * (w / 2 - 0.02)
            parts.append(_box((x, 0, seat_h + arm_h), (0.05, d * 0.9, 0.04)))
            parts.append(_rod((x, -d / 2 + 0.05, seat_h), (x, -d / 2 + 0.05, seat_h + arm_h), 0.02))
    return parts


def table(rng: np.random.Generator) -> Parts:
    """Tables: rectangular or round tops; four legs, a pedestal or two trestles; coffee to bar height."""
    height = rng.uniform(0.4, 1.0)
    top_t = rng.uniform(0.03, 0.07)
    parts: Parts = []
    round_top = rng.random() < 0.35
    if round_top:
        r = rng.uniform(0.4, 0.7)
        parts.append(_disc((0, 0, height), r, top_t, sections=32))
        w = d = r * 1.4
    else:
        w, d = rng.uniform(0.8, 1.8), rng.uniform(0.5, 1.0)
        parts.append(_box((0, 0, height), (w, d, top_t)))
    support = rng.choice(["legs", "pedestal", "trestle"], p=[0.6, 0.25, 0.15])
    under = height - top_t / 2
    if support == "legs":
        leg = rng.uniform(0.03, 0.07)
        inset = rng.uniform(0.02, 0.1)
        square = rng.random() < 0.5
        for sx in (-1, 1):
            for sy in (-1, 1):
                x, y = sx * (w / 2 - inset - leg), sy * (d / 2 - inset - leg)
                if round_top:
                    x, y = x * 0.7, y * 0.7
                if square:
                    parts.append(_legs(_box((x, y, under / 2), (leg, leg, under))))
                else:
                    parts.append(_legs(_rod((x, y, under), (x, y, 0), leg / 2)))
        if rng.random() < 0.4:  # stretcher shelf
            parts.append(_legs(_box((0, 0, under * 0.25), (w * 0.8, d * 0.8, 0.02))))
    elif support == "pedestal":
        parts.append(_legs(_rod((0, 0, under), (0, 0, 0.04), rng.uniform(0.04, 0.09))))
        parts.append(_legs(_disc((0, 0, 0.02), rng.uniform(0.2, 0.35), 0.04)))
    else:
        for sx in (-1, 1):
            x = sx * (w / 2 - 0.1)
            parts.append(_legs(_box((x, 0, under / 2), (0.05, d * 0.7, under))))
        parts.append(_legs(_box((0, 0, under * 0.3), (w - 0.2, 0.04, 0.06))))
    return parts


def lamp(rng: np.random.Generator) -> Parts:
    """Lamps: floor or desk; straight or bent arm; conical, cylindrical or spherical shades."""
    floor = rng.random() < 0.5
    height = rng.uniform(1.2, 1.8) if floor else rng.uniform(0.35, 0.6)
    parts: Parts = []
    base_r = rng.uniform(0.1, 0.2) * (1.5 if floor else 1.0)
    if rng.random() < 0.7:
        parts.append(_disc((0, 0, 0.02), base_r, 0.04))
    else:
        parts.append(_box((0, 0, 0.025), (2 * base_r, 2 * base_r, 0.05)))
    pole_r = rng.uniform(0.01, 0.02)
    if rng.random() < 0.5:
        tip = (0.0, 0.0, height)
        parts.append(_rod((0, 0, 0.04), tip, pole_r))
        shade_axis = (0.0, 0.0, -1.0)
    else:  # bent arm
        elbow = (0.0, 0.0, height * rng.uniform(0.5, 0.75))
        reach = rng.uniform(0.15, 0.4)
        tip = (reach, 0.0, height)
        parts.append(_rod((0, 0, 0.04), elbow, pole_r))
        parts.append(_rod(elbow, tip, pole_r))
        shade_axis = (0.3, 0.0, -1.0)
    shade_kind = rng.choice(["cone", "cylinder", "sphere"])
    size = rng.uniform(0.12, 0.25) * (1.3 if floor else 1.0)
    if shade_kind == "sphere":
        shade = trimesh.creation.icosphere(subdivisions=2, radius=size * 0.6)
        shade.apply_translation((tip[0], tip[1], tip[2] - size * 0.3))
    else:
        h = size * rng.uniform(0.8, 1.3)
        if shade_kind == "cone":
            shade = trimesh.creation.cone(radius=size, height=h, sections=24)
            shade.apply_translation((0, 0, -h * 0.6))  # apex up, inside the tip
        else:
            shade = trimesh.creation.cylinder(radius=size * 0.7, height=h, sections=24)
            shade.apply_translation((0, 0, -h * 0.4))
        align = trimesh.geometry.align_vectors((0, 0, -1), shade_axis)
        shade.apply_transform(align)
        shade.apply_translation(tip)
    parts.append(shade)
    return parts


def car(rng: np.random.Generator) -> Parts:
    """Cars: sedans, hatchbacks, vans and pickups, with four wheels."""
    kind = rng.choice(["sedan", "hatchback", "van", "pickup"])
    length = rng.uniform(3.8, 5.2)
    width = rng.uniform(1.6, 1.9)
    wheel_r = rng.uniform(0.3, 0.38)
    clearance = wheel_r * rng.uniform(0.6, 0.9)
    body_h = rng.uniform(0.55, 0.75)
    parts: Parts = [_box((0, 0, clearance + body_h / 2), (length, width, body_h))]
    roof_z = clearance + body_h
    cabin_h = rng.uniform(0.45, 0.6)
    if kind == "sedan":
        parts.append(_box((-0.05 * length, 0, roof_z + cabin_h / 2), (0.45 * length, 0.92 * width, cabin_h)))
    elif kind == "hatchback":
        parts.append(_box((-0.15 * length, 0, roof_z + cabin_h / 2), (0.6 * length, 0.92 * width, cabin_h)))
    elif kind == "van":
        van_h = cabin_h * rng.uniform(1.4, 1.9)
        parts.append(_box((-0.1 * length, 0, roof_z + van_h / 2), (0.8 * length, width, van_h)))
    else:  # pickup: cabin at the front, open bed with walls at the back
        parts.append(_box((0.1 * length, 0, roof_z + cabin_h / 2), (0.3 * length, 0.92 * width, cabin_h)))
        wall_h, wall_t = 0.3, 0.05
        bed_x = -0.25 * length
        for sy in (-1, 1):
            parts.append(
                _box((bed_x, sy * (width / 2 - wall_t / 2), roof_z + wall_h / 2), (0.45 * length, wall_t, wall_h))
            )
        parts.append(_box((bed_x - 0.225 * length, 0, roof_z + wall_h / 2), (wall_t, width, wall_h)))
    axle = length * rng.uniform(0.3, 0.36)
    for sx in (-1, 1):
        for sy in (-1, 1):
            y = sy * (width / 2 - 0.05)
            parts.append(_rod((sx * axle, y - 0.12, wheel_r), (sx * axle, y + 0.12, wheel_r), wheel_r, sections=16))
    return parts


def airplane(rng: np.random.Generator) -> Parts:
    """Airplanes: airliners (swept wings, engines) and light planes (straight high or low wings)."""
    airliner = rng.random() < 0.6
    length = rng.uniform(3.0, 4.0)
    radius = length * rng.uniform(0.04, 0.06)
    fuselage = trimesh.creation.capsule(height=length - 2 * radius, radius=radius, count=(12, 12))
    fuselage.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, (0, 1, 0)))
    parts: Parts = [fuselage]
    span = length * rng.uniform(0.8, 1.1)
    chord = length * rng.uniform(0.1, 0.16)
    sweep = rng.uniform(15, 35) if airliner else rng.uniform(-2, 5)
    wing_z = -radius * 0.5 if (airliner or rng.random() < 0.5) else radius * 0.8
    for sy in (-1, 1):
        wing = _box((0, sy * span / 4, 0), (chord, span / 2, radius * 0.25))
        shear = np.eye(4)
        shear[0, 1] = -sy * math.tan(math.radians(sweep))  # sweep: x moves back with |y|
        wing.apply_transform(shear)
        wing.apply_translation((length * 0.05, 0, wing_z))
        parts.append(wing)
        if airliner:
            ex = length * 0.05 - span / 4 * math.tan(math.radians(sweep)) + chord * 0.3
            parts.append(
                _rod(
                    (ex + 0.35, sy * span / 4, wing_z - radius * 0.6),
                    (ex - 0.15, sy * span / 4, wing_z - radius * 0.6),
                    radius * 0.45,
                    sections=12,
                )
            )
    tail_x = -length / 2 + radius
    fin_h = length * rng.uniform(0.12, 0.18)
    fin = _box((tail_x, 0, radius + fin_h / 2), (chord * 0.8, radius * 0.2, fin_h))
    shear = np.eye(4)
    shear[0, 2] = -0.6
    fin.apply_transform(shear)
    fin.apply_translation((fin_h * 0.3, 0, 0))
    parts.append(fin)
    parts.append(_box((tail_x, 0, radius * 0.3), (chord * 0.5, span * rng.uniform(0.25, 0.4), radius * 0.15)))
    return parts


def sofa(rng: np.random.Generator) -> Parts:
    """Sofas: two- to four-seaters, with 0 to 2 arms, optional chaise (L-shape) and cushions."""
    seats = int(rng.integers(2, 5))
    seat_w = rng.uniform(0.55, 0.7)
    w, d = seats * seat_w, rng.uniform(0.8, 1.0)
    base_h = rng.uniform(0.35, 0.45)
    back_h, back_t = rng.uniform(0.35, 0.5), rng.uniform(0.15, 0.25)
    leg_h = rng.uniform(0.0, 0.12)
    parts: Parts = [_box((0, 0, leg_h + base_h / 2), (w, d, base_h))]
    parts.append(_box((0, d / 2 - back_t / 2, leg_h + base_h + back_h / 2), (w, back_t, back_h)))
    arms = int(rng.choice([0, 1, 2], p=[0.1, 0.1, 0.8]))
    arm_w, arm_h = rng.uniform(0.12, 0.22), rng.uniform(0.15, 0.3)
    for side in (-1, 1)[:arms] if arms < 2 else (-1, 1):
        parts.append(_box((side * (w / 2 + arm_w / 2), 0, leg_h + (base_h + arm_h) / 2), (arm_w, d, base_h + arm_h)))
    if rng.random() < 0.25:  # chaise longue
        parts.append(_box((w / 2 - seat_w / 2, -d / 2 - 0.35, leg_h + base_h / 2), (seat_w, 0.7, base_h)))
    if rng.random() < 0.5:
        for k in range(seats):
            x = -w / 2 + seat_w * (k + 0.5)
            parts.append(_box((x, -back_t / 2, leg_h + base_h + 0.05), (seat_w * 0.95, d - back_t, 0.1)))
    if leg_h > 0.02:
        for sx in (-1, 1):
            for sy in (-1, 1):
                parts.append(_box((sx * (w / 2 - 0.05), sy * (d / 2 - 0.05), leg_h / 2), (0.05, 0.05, leg_h)))
    return parts


def bed(rng: np.random.Generator) -> Parts:
    """Beds: single to king size, headboard always, footboard sometimes, legs or a solid base, pillows."""
    w = rng.choice([0.9, 1.4, 1.6, 1.8]) * rng.uniform(0.95, 1.05)
    length = rng.uniform(1.9, 2.2)
    frame_h = rng.uniform(0.2, 0.35)
    legs = rng.random() < 0.6
    leg_h = rng.uniform(0.1, 0.25) if legs else 0.0
    mattress_h = rng.uniform(0.15, 0.3)
    parts: Parts = [_box((0, 0, leg_h + frame_h / 2), (w, length, frame_h))]
    parts.append(_box((0, 0, leg_h + frame_h + mattress_h / 2), (w * 0.96, length * 0.97, mattress_h)))
    head_h = rng.uniform(0.5, 1.0)
    parts.append(_box((0, length / 2, (leg_h + head_h) / 2), (w + 0.06, 0.08, leg_h + head_h)))
    if rng.random() < 0.5:
        foot_h = rng.uniform(0.3, 0.6)
        parts.append(_box((0, -length / 2, (leg_h + foot_h) / 2), (w + 0.06, 0.06, leg_h + foot_h)))
    if legs:
        for sx in (-1, 1):
            for sy in (-1, 1):
                parts.append(_box((sx * (w / 2 - 0.04), sy * (length / 2 - 0.06), leg_h / 2), (0.06, 0.06, leg_h)))
    n_pillows = 1 if w < 1.2 else 2
    top = leg_h + frame_h + mattress_h
    for k in range(n_pillows):
        x = (k - (n_pillows - 1) / 2) * w / n_pillows
        parts.append(_box((x, length / 2 - 0.3, top + 0.06), (w / n_pillows * 0.8, 0.35, 0.12)))
    return parts


def _revolve(profile: list[tuple[float, float]], sections: int = 32) -> trimesh.Trimesh:
    """A closed solid of revolution about z from a (radius, z) profile that starts and ends on the axis."""
    return trimesh.creation.revolve(np.asarray(profile, dtype=float), sections=sections)


def bottle(rng: np.random.Generator) -> Parts:
    """Bottles: wine, water and jug shapes (body, shoulder, neck, cap), solids of revolution."""
    r = rng.uniform(0.08, 0.15)
    body_h = rng.uniform(0.25, 0.45)
    shoulder_h = rng.uniform(0.03, 0.12)
    neck_r = r * rng.uniform(0.25, 0.45)
    neck_h = rng.uniform(0.05, 0.15)
    profile = [
        (0.0, 0.0),
        (r, 0.0),
        (r, body_h),
        (neck_r, body_h + shoulder_h),
        (neck_r, body_h + shoulder_h + neck_h),
        (0.0, body_h + shoulder_h + neck_h),
    ]
    parts: Parts = [_revolve(profile)]
    top = body_h + shoulder_h + neck_h
    parts.append(_disc((0, 0, top + 0.01), neck_r * 1.15, 0.03))
    if rng.random() < 0.2:  # jug handle
        parts.append(_rod((r * 0.9, 0, body_h * 0.85), (r * 1.6, 0, body_h * 0.6), 0.012))
        parts.append(_rod((r * 1.6, 0, body_h * 0.6), (r * 0.9, 0, body_h * 0.3), 0.012))
    return parts


def vase(rng: np.random.Generator) -> Parts:
    """Vases: curved profiles (amphora, bulb, cylinder, bowl), a foot ring sometimes."""
    height = rng.uniform(0.25, 0.6)
    base_r = rng.uniform(0.05, 0.12)
    belly = rng.uniform(1.1, 2.2)
    belly_at = rng.uniform(0.25, 0.6)
    lip = rng.uniform(0.5, 1.3)
    zs = np.linspace(0.0, height, 14)
    t = zs / height
    radius = base_r * (1 + (belly - 1) * np.exp(-((t - belly_at) ** 2) / 0.05) + (lip - 1) * t**3)
    profile = [(0.0, 0.0)] + list(zip(radius, zs, strict=True)) + [(0.0, height)]
    parts: Parts = [_revolve(profile)]
    if rng.random() < 0.4:
        parts.append(_disc((0, 0, 0.01), base_r * 1.2, 0.02))
    return parts


GENERATORS: dict[str, Callable[[np.random.Generator], Parts]] = {
    "airplane": airplane,
    "bed": bed,
    "bottle": bottle,
    "car": car,
    "chair": chair,
    "lamp": lamp,
    "sofa": sofa,
    "table": table,
    "vase": vase,
    # appended, not in alphabetical order: a class's index seeds its objects, so the others keep theirs
    "person": person,
}
CLASSES = tuple(GENERATORS)


def make_parts(class_name: str, seed: int) -> Parts:
    """The closed primitives `make_shape` merges, each a trimesh; legs carry `metadata["part"] == LEGS`."""
    if class_name not in GENERATORS:
        raise ConfigError(f"unknown synthetic class {class_name!r}; choose from {', '.join(CLASSES)}")
    # mix the class into the seed so chair 7 and table 7 are unrelated draws
    return GENERATORS[class_name](np.random.default_rng([seed, CLASSES.index(class_name)]))


def make_shape(class_name: str, seed: int, color: bool = False) -> Mesh:
    """One object of `class_name`, the same for the same seed on every machine.

    With `color`, the same geometry with per-part vertex colours, UVs and a procedural texture atlas
    (`gan3d.data.synthetic_color`), drawn from a random stream of their own.
    """
    parts = make_parts(class_name, seed)
    if color:
        from gan3d.data.synthetic_color import colored_mesh

        return colored_mesh(parts, class_name, np.random.default_rng([seed, CLASSES.index(class_name), 1]))
    merged = trimesh.util.concatenate(parts)
    return Mesh(np.asarray(merged.vertices, dtype=np.float64), np.asarray(merged.faces, dtype=np.int64))
