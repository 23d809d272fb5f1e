"""Headless chromium for tests of our HTML pages: screenshots, and a probe for JavaScript errors.

Debian's chromium with software WebGL (SwiftShader); tests that use it skip when it is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PROBE = """<script>
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message || e)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push("unhandled rejection: " + String(e.reason)));
(function () {
  const original = console.error;
  console.error = function (...args) {
    window.__errors.push(args.map(String).join(" "));
    original.apply(console, args);
  };
})();
window.addEventListener("load", () => setTimeout(() => {
  const el = document.querySelector(%s);
  const r = el ? el.getBoundingClientRect() : null;
  const out = document.createElement("pre");
  out.id = "__probe";
  out.textContent = JSON.stringify({
    errors: window.__errors,
    rect: r && {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height},
    canvases: el ? el.querySelectorAll("canvas").length : 0,
    height: document.documentElement.scrollHeight,
  });
  document.body.appendChild(out);
}, 3000));
</script>"""


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--use-gl=angle",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        *args,
    ]
    return subprocess.run(command, check=True, capture_output=True, timeout=180, text=True)


def screenshot(page: Path, shot: Path, width: int, height: int) -> Path:
    """A PNG of the page's top `width` x `height` pixels after its scripts ran."""
    _run([f"--window-size={width},{height}", f"--screenshot={shot}", page.as_uri()], shot.parent / "profile")
    return shot


def probe(page: Path, work: Path, selector: str, width: int = 1300) -> dict:
    """Load a copy of `page` with an error-catching script first in <head>; returns {errors: [...],
    rect: position of `selector` in page pixels, canvases: <canvas> count inside it, height}."""
    html = page.read_text()
    copy = work / "probed.html"
    copy.write_text(re.sub(r"<head>", lambda m: m.group(0) + PROBE % json.dumps(selector), html, count=1))
    result = _run([f"--window-size={width},1000", "--dump-dom", copy.as_uri()], work / "profile")
    found = re.search(r'<pre id="__probe">(.*?)</pre>', result.stdout, re.S)
    assert found is not None, "the probe did not run: the page never finished loading"
    import html as html_lib

    return json.loads(html_lib.unescape(found.group(1)))
