"""Imports flow one way (../shared/STYLE.md): a module imports only from rooms below its own.

    errors  <  files, batch  <  structures  <  ops, io  <  render  <  data, export  <  losses, metrics
            <  models (with registry)  <  training, pipelines  <  cli

Rooms on the same level do not import each other (data vs export, losses vs metrics, training vs
pipelines); a room may import itself. Every `import gan3d.x` / `from gan3d.x import` in the source,
at module level or inside a function, is checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "gan3d"
LEVELS = {
    "errors": 0,
    "__init__": 1,
    "files": 1,
    "batch": 1,
    "structures": 2,
    "ops": 3,
    "io": 3,
    "render": 4,
    "data": 5,
    "export": 5,
    "losses": 6,
    "metrics": 6,
    "models": 7,
    "registry": 7,
    "training": 8,
    "pipelines": 8,
    "cli": 9,
}
SAME_ROOM = {"registry": "models"}  # the registry is the models' own index


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("gan3d"):
            if node.module == "gan3d":  # `from gan3d import x`: x may be a room
                found += [(node.lineno, f"gan3d.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("gan3d.")]
    return found


def violations(src: Path = SRC) -> list[str]:
    """Every import against the direction, as 'file:line: room -> room'."""
    out = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src.parent)
        here = _room(".".join(rel.with_suffix("").parts))
        for line, module in _imports(path):
            there = _room(module)
            if there not in LEVELS:
                continue  # `from gan3d import __version__` and the like
            a, b = SAME_ROOM.get(here, here), SAME_ROOM.get(there, there)
            if a == b:
                continue
            if LEVELS[there] >= LEVELS[here]:
                out.append(f"{rel}:{line}: {here} -> {there}")
    return out


def test_every_room_is_known() -> None:
    rooms = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or p.is_dir()}
    rooms.discard("__pycache__")
    assert rooms <= set(LEVELS), f"rooms without a level: {sorted(rooms - set(LEVELS))}"


def test_imports_flow_one_way() -> None:
    found = violations()
    assert not found, "imports against the direction:\n" + "\n".join(found)


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    fake = tmp_path / "gan3d"
    (fake / "export").mkdir(parents=True)
    (fake / "export" / "mesh.py").write_text("def f():\n    from gan3d.data.voxelize import voxelize\n")
    (fake / "data").mkdir()
    (fake / "data" / "a.py").write_text("from gan3d.export.mesh import f\n")
    (fake / "metrics").mkdir()
    (fake / "metrics" / "iou.py").write_text("from gan3d.ops.ssim import ssim3d_map\nfrom gan3d import training\n")
    assert violations(fake) == [
        "gan3d/data/a.py:1: data -> export",
        "gan3d/export/mesh.py:2: export -> data",
        "gan3d/metrics/iou.py:2: metrics -> training",
    ]
