"""The fit report (issue 19): one self-contained HTML page with the parameter table and the fit
plots, written with the rest of the ``--out`` folder or not at all."""

from __future__ import annotations

import base64
import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import letrolab.fitting as fitting
import letrolab.fitting.report as fit_report
from letrolab._io import staged_dir
from letrolab.errors import FitError, InputError
from letrolab.fitting import FitProblem, check_fit_data
from letrolab.fitting.report import REPORT_FILE, write_report
from letrolab.fitting.virtual_lab import simulate_lab

TRUTH = {"k_g1s_max": 0.12, "K_surv": 0.7}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Elements without an end tag (HTML Living Standard, "void elements").
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class _TagBalance(HTMLParser):
    """Records tags that close without having been opened, or stay open at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.imgs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


@pytest.fixture(scope="module")
def lab():
    return simulate_lab(TRUTH, doses={"everolimus": np.logspace(-2, 3, 5)}, seed=5)


@pytest.fixture(scope="module")
def fitted(lab):
    pr = FitProblem(check_fit_data(lab.measurements, lab.conditions), tuple(TRUTH))
    result = fitting.fit(pr, n_starts=2, profiles=True, profile_points=3)
    assert result.converged
    return result


@pytest.fixture(scope="module")
def report_dir(fitted, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "fit"
    with staged_dir(out) as stage:
        write_report(fitted, stage)
    return out


def _parse(html: str) -> _TagBalance:
    parser = _TagBalance()
    parser.feed(html)
    parser.close()
    return parser


def test_report_is_whole_html_with_the_figures_embedded(report_dir):
    html = (report_dir / REPORT_FILE).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    parsed = _parse(html)
    assert parsed.problems == [] and parsed.stack == []
    srcs = {img["alt"]: img["src"] or "" for img in parsed.imgs}
    assert set(srcs) == {
        "Data and model",
        "Residuals",
        "Multi-start waterfall",
        "Profile likelihoods",
    }
    files = {"Data and model": "fit.png", "Residuals": "residuals.png"}
    files |= {"Multi-start waterfall": "waterfall.png", "Profile likelihoods": "profiles.png"}
    for alt, src in srcs.items():
        assert src.startswith("data:image/png;base64,"), alt
        png = base64.b64decode(src.split(",", 1)[1])
        # the embedded figure is the PNG file of the folder, byte for byte
        assert png.startswith(PNG_MAGIC) and png == (report_dir / files[alt]).read_bytes(), alt


def test_report_fetches_nothing(report_dir):
    html = (report_dir / REPORT_FILE).read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<(script|link|iframe|object)\b", html)
    assert all(s.startswith("data:") for s in re.findall(r'src="([^"]*)"', html))


def test_parameter_table_has_every_fitted_parameter(report_dir, fitted):
    html = (report_dir / REPORT_FILE).read_text(encoding="utf-8")
    table = pd.read_csv(report_dir / "parameters.csv")
    assert set(table["parameter"]) == set(fitted.problem.ids) == {*TRUTH, "scale_viability"}
    for r in table.itertuples():
        row = re.search(rf'<tr id="parameter-{r.parameter}">(.*?)</tr>', html, re.S)
        assert row, r.parameter
        cells = row.group(1)
        for text in (
            f"{r.estimate:.4g}",
            f"[{r.ci_low:.4g}, {r.ci_high:.4g}]",
            f"[{r.prior_low:.4g}, {r.prior_high:.4g}]",
            f"{r.nominal:.4g}",
        ):
            assert text in cells, (r.parameter, text)
        method = "profile likelihood" if r.method == "profile" else "Wald"
        assert method in cells


def test_non_identifiable_parameters_are_named(fitted):
    """Intervals wider than the prior box (Wald, without profiles) flag every parameter."""
    flat = dataclasses.replace(fitted, covariance=np.eye(len(fitted.x)) * 100.0, profiles=())
    res = fit_report.residual_table(flat, n_sets=3)
    html = fit_report.render_fit_report(flat, res, ())
    assert "Not identifiable from these data:" in html
    for p in flat.problem.ids:
        assert p in html.split("Not identifiable from these data:", 1)[1].split("</p>", 1)[0]
    assert "Not computed for this fit" in html  # no profiles: the page says so


def test_a_fit_that_did_not_converge_gets_no_report(fitted, tmp_path):
    failed = dataclasses.replace(fitted, agreeing=1)  # two starts, only one at the optimum
    assert not failed.converged
    with pytest.raises(FitError, match="did not converge"):
        write_report(failed, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def lab_files(lab, tmp_path) -> Path:
    lab.measurements.to_csv(tmp_path / "m.csv", index=False)
    lab.conditions.to_csv(tmp_path / "c.csv", index=False)
    return tmp_path


def test_cli_writes_the_report_and_names_it(run_cli, lab_files, fitted, monkeypatch):
    monkeypatch.setattr(fitting, "fit", lambda p, **kw: fitted)
    out = lab_files / "fit"
    code, stdout, err = run_cli("fit", lab_files / "m.csv", lab_files / "c.csv", "--out", out)
    assert code == 0, err
    assert f"report: {out / REPORT_FILE}" in stdout
    assert _parse((out / REPORT_FILE).read_text(encoding="utf-8")).stack == []


@pytest.mark.parametrize("failure", ["not converged", "report fails"])
def test_a_failed_fit_leaves_the_previous_report_whole(
    run_cli, lab_files, fitted, monkeypatch, failure
):
    out = lab_files / "fit"
    with staged_dir(out) as stage:
        write_report(fitted, stage)
    before = _snapshot(out)
    if failure == "not converged":
        monkeypatch.setattr(fitting, "fit", lambda p, **kw: dataclasses.replace(fitted, agreeing=1))
    else:
        monkeypatch.setattr(fitting, "fit", lambda p, **kw: fitted)

        def broken(*_a, **_k):
            raise InputError("disk full while writing the report")

        monkeypatch.setattr(fit_report, "render_fit_report", broken)
    code, _out, err = run_cli("fit", lab_files / "m.csv", lab_files / "c.csv", "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert _snapshot(out) == before
    assert sorted(p.name for p in lab_files.iterdir()) == ["c.csv", "fit", "m.csv"]
