"""Self-contained HTML reports: sections of text, tables, embedded PNGs and plotly fragments.

Everything is inlined (images as base64 data URIs, plotly.js in its fragment), so the one file opens
offline, can be mailed, and survives being moved away from its run folder.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gan3d.files import write_text_atomic

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1300px;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #999; }
img { max-width: 100%; height: auto; }
.note { color: #555; font-size: 0.92rem; }
.pass { color: #13722b; font-weight: 600; } .fail { color: #a31515; font-weight: 600; }
code { background: #f4f4f4; padding: 0 0.25rem; border-radius: 3px; }
"""


@dataclass(frozen=True)
class Section:
    """One titled part of a report; `body` is trusted HTML (build it with the helpers below)."""

    title: str
    body: str
    anchor: str = ""


def escape(text: object) -> str:
    """Text made safe for HTML."""
    return html.escape(str(text))


def png_tag(path: str | os.PathLike[str], alt: str) -> str:
    """An `<img>` with the PNG file inlined as a data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def table_html(header: Sequence[str], rows: Sequence[Sequence[object]], total: Sequence[object] | None = None) -> str:
    """A table; floats are shown with 3 decimals, `total` (if any) is a bold last row."""

    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else escape(value)

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    if total is not None:
        body += '<tr class="total">' + "".join(f"<td>{cell(v)}</td>" for v in total) + "</tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(path: str | os.PathLike[str], title: str, intro: str, sections: Sequence[Section]) -> Path:
    """Write the page atomically: a title, an intro paragraph (trusted HTML), a contents list, sections."""
    contents = "".join(
        f'<li><a href="#{s.anchor or f"s{i}"}">{escape(s.title)}</a></li>' for i, s in enumerate(sections)
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        intro,
        f"<ul>{contents}</ul>",
    ]
    for i, section in enumerate(sections):
        anchor = section.anchor or f"s{i}"
        parts.append(f'<section id="{anchor}"><h2>{escape(section.title)}</h2>{section.body}</section>')
    parts.append("</body></html>")
    target = Path(path)
    write_text_atomic(target, "\n".join(parts))
    return target
