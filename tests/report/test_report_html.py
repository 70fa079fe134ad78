"""The HTML report: self-contained, escaped, one section per experiment, claims as computed."""

from __future__ import annotations

import base64
import re

import pandas as pd

from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.pipeline import run_experiments
from letrolab.report import figure_png, render_report


def _plot() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return figure_png(fig)


def _exp(ctx: Context) -> Output:
    ci = pd.DataFrame(
        {"cell_line": ["a", "a", "b", "b"], "fa": [0.5, 0.75] * 2, "ci": [0.3, 0.4, 0.5, 0.7]}
    )
    return Output(
        tables={"s4_ci_at_fa": ci},
        figures=(Figure("fig", "Fa-CI <plot> & more", _plot()),),
        notes=("plate 2: edge effect <warning>",),
    )


EXP = Experiment("toy", "Toy <b>proliferation</b>", ("S4",), (), _exp, "Methods & more.")


def test_report_is_self_contained_and_escaped(tmp_path):
    res = run_experiments([EXP], outdir=tmp_path)
    html = render_report(res)
    assert html.startswith("<!DOCTYPE html>")
    # no external resources: every src is a data: URI, no http(s) links to load
    srcs = re.findall(r'src="([^"]+)"', html)
    assert srcs and all(
        s.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")) for s in srcs
    )
    assert "http://" not in html and "https://" not in html
    png = base64.b64decode(next(s for s in srcs if "png" in s).split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # user-visible text is escaped
    assert "Toy &lt;b&gt;proliferation&lt;/b&gt;" in html
    assert "Fa-CI &lt;plot&gt; &amp; more" in html
    assert "edge effect &lt;warning&gt;" in html
    assert "<b>proliferation" not in html


def test_report_shows_each_claim_as_evaluated(tmp_path):
    res = run_experiments([EXP], outdir=tmp_path)
    html = render_report(res)
    claims = {c.id: c for c in res.claims}
    assert not claims["S4"].holds  # CI 0.7 at fa 0.75 in line b
    row = re.search(r'<tr id="claim-S4">(.*?)</tr>', html, re.S).group(1)
    assert ">no</td>" in row and "CI75 0.70" in row
    row1 = re.search(r'<tr id="claim-S1">(.*?)</tr>', html, re.S).group(1)
    assert ">not evaluated</td>" in row1
    assert "0 of 9 claims hold" in html
    # the trials table carries the computed CI
    assert "CI at fa 0.5: a 0.30, b 0.50" in html


def test_report_lists_provenance_and_missing_diagram_reason(tmp_path):
    res = run_experiments([EXP], outdir=tmp_path, seed=5)
    html = render_report(res)
    assert "<th>seed</th><td><code>5</code></td>" in html
    if res.diagram is None:
        assert "Pathway diagram not available:" in html
    else:
        assert res.diagram.caption in html
