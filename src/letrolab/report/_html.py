"""Rendering of the report with jinja2 (autoescaped) and matplotlib figures as PNG."""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

from letrolab._io import figure_bytes

if TYPE_CHECKING:  # pragma: no cover
    from letrolab.runs import RunResult

__all__ = ["data_uri", "figure_png", "render_report", "render_template", "table_html"]

GENERAL_METHODS = (
    "Each experiment of the seed is a protocol in letrolab.experiments. It simulates the "
    "mechanistic model (Antimony source, run by libroadrunner) for the protocol's conditions, "
    "turns the simulated readouts into the files a lab instrument writes — plate-reader exports "
    "with a plate map, FCS 3.1 files, Western blot images — with realistic measurement noise, "
    "and then analyses those files with the same letrolab readers and analyses used on real "
    "data (plate reader → Chou–Talalay and reference synergy models; FCS → DNA-content "
    "cell-cycle and sub-G1 analysis; blot image → densitometry).",
    "Each claim S1–S9 of the seed (FACTS.md) is evaluated by a rule stated next to it, applied "
    "to the analysed tables stored in results.duckdb. A claim whose experiment could not run is "
    "reported as not evaluated and counted as not holding.",
    "Randomness (plate noise, flow events, blot noise, virtual populations and cohorts) comes "
    "from NumPy generators seeded from the run's seed and the experiment's name, so a run is "
    "reproducible from its provenance.",
)


@dataclass(frozen=True)
class _Img:
    uri: str
    caption: str


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """Embed ``data`` as a ``data:`` URI, so a page needs no file beside it.

    >>> data_uri(b"ab", "text/plain")
    'data:text/plain;base64,YWI='
    """
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def figure_png(fig: Any, *, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (:func:`letrolab._io.figure_bytes`:
    text drawn as written, plain-number log labels)."""
    return figure_bytes(fig, fmt="png", dpi=dpi, bbox_inches="tight")


def table_html(
    df: pd.DataFrame, *, max_rows: int = 60, full_table_in: str = "results.duckdb"
) -> str:
    """An escaped HTML table of ``df`` (4 significant digits), cut at ``max_rows`` rows.

    Parameters
    ----------
    df : DataFrame
        The table; cells are HTML-escaped.
    max_rows : int
        Rows shown; beyond them a note says where the whole table is (``full_table_in``).
    full_table_in : str
        The file named in that note.

    Returns
    -------
    str
        Markup safe to insert into a page as is.
    """
    shown = df.head(max_rows)
    html = shown.to_html(index=False, border=0, float_format=lambda x: f"{x:.4g}", escape=True)
    if len(df) > max_rows:
        html += (
            f"<p class='small'>first {max_rows} of {len(df)} rows; "
            f"all in {escape(full_table_in)}</p>"
        )
    return html


@functools.cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("letrolab.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **context: Any) -> str:
    """Render the page template ``name`` of ``letrolab/report/templates`` with ``context``.

    Autoescaped (values are text unless marked safe) and strict (a missing value is an error,
    not an empty string). Every page includes the same stylesheet, ``_style.css.j2``.
    """
    return _environment().get_template(name).render(**context)


def _ensemble_rows(ens) -> list[dict]:
    """One row per claim: basis, support with its interval, readout spread, top-5 Sobol."""
    sob = ens.sobol
    rows = []
    for s in ens.support:
        top = []
        if sob is not None and s.support is not None:
            sub = sob[sob["claim"] == s.claim].sort_values("ST", ascending=False).head(5)
            top = [
                f"{r.parameter} (S1 {r.S1:.2f} ± {r.S1_conf:.2f}, ST {r.ST:.2f} ± {r.ST_conf:.2f})"
                for r in sub.itertuples()
            ]
        rows.append(
            {
                "claim": s.claim,
                "basis": s.basis,
                "why": s.why,
                "readout": s.readout,
                "support": (
                    f"{s.support:.2f} [{s.low95:.2f}, {s.high95:.2f}]"
                    if s.support is not None
                    else "not sampled"
                ),
                "spread": (
                    f"{s.quantiles[1]:.3g} [{s.quantiles[0]:.3g}, {s.quantiles[2]:.3g}]"
                    if s.quantiles
                    else ""
                ),
                "holds": s.holds,
                "verdict": s.verdict,
                "note": s.note,
                "sobol": top,
            }
        )
    return rows


def render_report(result: RunResult) -> str:
    """Render ``result`` as one self-contained HTML document (figures as ``data:`` URIs)."""
    tables = result.tables
    experiments = []
    for run in result.runs:
        experiments.append(
            {
                "id": run.id,
                "title": run.title,
                "claims": list(run.claims),
                "status": run.status,
                "reason": run.reason,
                "seconds": run.seconds,
                "methods": [p.strip() for p in run.methods.split("\n\n") if p.strip()],
                "figures": [_Img(data_uri(f.data, f.mime), f.caption) for f in run.output.figures],
                "tables": [(n, table_html(df)) for n, df in run.output.tables.items()],
                "notes": list(run.output.notes),
                "files": [str(p) for p in run.output.files],
            }
        )
    diagram = None
    if result.diagram is not None:
        diagram = _Img(data_uri(result.diagram.data, result.diagram.mime), result.diagram.caption)
    claims = list(result.claims)
    ens = result.ensemble
    verdict = {d["id"]: d["status"] for d in result.claims_document()}
    on_ensemble = {
        cid: f"{s.support:.2f} [{s.low95:.2f}, {s.high95:.2f}]: {s.verdict}"
        for cid, s in ens.controls_by_claim().items()
    }
    return render_template(
        "report.html.j2",
        prov=result.provenance,
        claims=claims,
        verdict=verdict,
        ensemble=_ensemble_rows(ens),
        ensemble_info=ens.info,
        ensemble_note=ens.note,
        n_holds=sum(verdict.get(c.id, c.status) == "holds" for c in claims),
        n_undecided=sum(verdict.get(c.id) == "undecided" for c in claims),
        on_ensemble=on_ensemble,
        n_noteval=sum(not c.evaluated for c in claims),
        diagram=diagram,
        diagram_note=result.diagram_note,
        trials=list(tables["trials"].itertuples(index=False)),
        general_methods=GENERAL_METHODS,
        experiments=experiments,
        controls=list(result.controls),
        fmt=_fmt_readout,
    )


def _fmt_readout(x: float) -> str:
    """A readout for the negative-control table: 3 significant digits, or an em dash."""
    import math

    return f"{x:.3g}" if isinstance(x, (int, float)) and math.isfinite(x) else "—"
