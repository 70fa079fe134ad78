"""The self-contained HTML pages letrolab writes.

:func:`render_report` turns a :class:`~letrolab.runs.RunResult` of ``letrolab reproduce`` into
one HTML file with every figure embedded as a ``data:`` URI, so the file opens anywhere without
its folder. The helpers it is built from serve other pages too (the ``letrolab fit`` report):
:func:`figure_png` renders a matplotlib figure, :func:`data_uri` embeds its bytes,
:func:`table_html` writes an escaped table and :func:`render_template` renders a page template
of this package with the shared stylesheet.
"""

from letrolab.report._html import (
    data_uri,
    figure_png,
    render_report,
    render_template,
    table_html,
)

__all__ = ["data_uri", "figure_png", "render_report", "render_template", "table_html"]
