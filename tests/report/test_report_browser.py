"""The report of a real ``reproduce --quick`` run, loaded in headless Chromium.

A script injected into a copy of the report records, after the load event, how many images
the page has and which of them the browser could not decode (``naturalWidth == 0``); Chromium
prints the resulting DOM. A copy with one image's data corrupted must be caught, so the check
is known to fail on a broken figure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PROBE = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var out = document.createElement("pre");
  out.id = "letrolab-image-check";
  out.textContent = "IMAGES total=" + imgs.length + " broken=" + bad.length +
    " alts=[" + bad.map(function (i) { return i.alt; }).join("|") + "]";
  document.body.appendChild(out);
});
</script>
"""


def _probe_copy(report: Path, dest: Path, *, corrupt: bool = False) -> Path:
    html = report.read_text(encoding="utf-8")
    if corrupt:  # replace the first embedded image's bytes by non-image bytes
        html = re.sub(
            r'src="data:image/(png|svg\+xml);base64,[^"]+"',
            'src="data:image/png;base64,bm90IGFuIGltYWdl"',
            html,
            count=1,
        )
    dest.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return dest


def _check(dom: str) -> tuple[int, int, str]:
    m = re.search(r"IMAGES total=(\d+) broken=(\d+) alts=\[(.*?)\]", dom)
    assert m, "the probe did not run: the page did not finish loading"
    return int(m.group(1)), int(m.group(2)), m.group(3)


def test_every_figure_of_the_report_renders(quick_run, chromium, tmp_path):
    report = quick_run / "report.html"
    n_img = report.read_text(encoding="utf-8").count("<img ")
    assert n_img >= 1, "the report has no figures"
    total, broken, alts = _check(chromium(_probe_copy(report, tmp_path / "r.html")))
    assert total == n_img
    assert broken == 0, f"figures that did not render: {alts}"


def test_a_broken_figure_is_detected(quick_run, chromium, tmp_path):
    report = quick_run / "report.html"
    total, broken, _ = _check(chromium(_probe_copy(report, tmp_path / "bad.html", corrupt=True)))
    assert total >= 1 and broken == 1
