from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from gan3d.export.figures import plot_image_sheet, plot_training_curves, read_metrics_csv
from gan3d.export.report import Section, png_tag, table_html, write_report


def test_table_formats_floats_and_escapes_text() -> None:
    html = table_html(["class", "IoU"], [["<chair>", 0.12345], ["lamp", 3]], total=["all", 0.5])
    assert "<td>&lt;chair&gt;</td><td>0.123</td>" in html
    assert "<td>lamp</td><td>3</td>" in html
    assert '<tr class="total"><td>all</td><td>0.500</td></tr>' in html


def test_png_is_inlined_byte_for_byte(tmp_path: Path) -> None:
    png = plot_image_sheet([np.zeros((8, 8), np.uint8)], tmp_path / "a.png")
    tag = png_tag(png, 'a "quoted" alt')
    data = tag.split("base64,")[1].split('"')[0]
    assert base64.b64decode(data) == png.read_bytes()
    assert 'alt="a &quot;quoted&quot; alt"' in tag


def test_report_has_contents_linking_every_section(tmp_path: Path) -> None:
    page = write_report(
        tmp_path / "r.html", "Title & co", "<p>intro</p>", [Section("One", "<p>1</p>", "one"), Section("Two", "2")]
    )
    html = page.read_text()
    assert "<title>Title &amp; co</title>" in html
    assert '<a href="#one">One</a>' in html and '<section id="one">' in html
    assert '<a href="#s1">Two</a>' in html and '<section id="s1">' in html
    assert not list(tmp_path.glob("*.tmp*")), "written atomically: no temp file left"


def test_metrics_csv_series_skip_gaps(tmp_path: Path) -> None:
    csv = tmp_path / "metrics.csv"
    csv.write_text("epoch,step,train/loss,val/iou\n0,9,1.5,\n0,19,1.25,\n0,19,,0.4\n1,29,1.0,\n")
    series = read_metrics_csv(csv)
    np.testing.assert_array_equal(series["train/loss"][0], [9, 19, 29])
    np.testing.assert_array_equal(series["train/loss"][1], [1.5, 1.25, 1.0])
    np.testing.assert_array_equal(series["val/iou"][0], [19])
    np.testing.assert_array_equal(series["val/iou"][1], [0.4])


def test_training_curves_skip_missing_metrics(tmp_path: Path) -> None:
    steps = np.arange(100.0)
    series = {"a": (steps, np.sin(steps)), "b": (steps[:2], np.ones(2))}
    path = plot_training_curves(
        series, [("one", [("a", "A"), ("missing", "M")]), ("two", [("b", "B")])], tmp_path / "c.png"
    )
    from PIL import Image

    with Image.open(path) as image:
        assert image.size[0] > image.size[1] > 100  # two panels side by side
