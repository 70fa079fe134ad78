"""The self-contained HTML report of a ``letrolab reproduce`` run.

:func:`render_report` turns a :class:`~letrolab.runs.RunResult` into one HTML file
with every figure embedded as a ``data:`` URI, so the file opens anywhere without its folder.
:func:`figure_png` renders a matplotlib figure for it.
"""

from letrolab.report._html import figure_png, render_report

__all__ = ["figure_png", "render_report"]
