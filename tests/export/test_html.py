from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gan3d.data.synthetic import make_shape
from gan3d.export.html import write_mesh_viewer
from tests.browser import CHROMIUM, screenshot


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = write_mesh_viewer([make_shape("chair", 0), make_shape("lamp", 1)], tmp_path / "v.html", ["chair", "lamp"])
    html = page.read_text()
    assert "Mesh3d" in html or "mesh3d" in html
    assert '<script src="http' not in html and "cdn.plot.ly" not in html.split("</script>")[-1]
    assert len(html) > 1_000_000  # plotly.js is inlined


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_renders_in_headless_chromium(tmp_path: Path) -> None:
    from PIL import Image

    page = write_mesh_viewer([make_shape("chair", 0)], tmp_path / "v.html", ["chair"])
    shot = screenshot(page, tmp_path / "shot.png", 600, 500)
    image = np.asarray(Image.open(shot).convert("L")).astype(int)
    scene = image[60:440, 50:550]  # the WebGL canvas, below the title and toolbar
    assert (scene < 200).mean() > 0.02, "the 3D scene is blank"
    assert len(np.unique(scene)) > 10, "no shading: the mesh was not drawn"
