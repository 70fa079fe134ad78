"""Dose-response fits, batched over many curves.

* :func:`fit_median_effect` — Chou's median-effect fit (m, Dm, r, points used; Dx at any fa).
* :func:`fit_hill` — the four-parameter Hill (log-logistic) fit (E0, Emax, EC50, h).
"""

from letrolab.doseresponse.hill import HillFit, HillFits, fit_hill
from letrolab.doseresponse.median_effect import (
    MedianEffectFit,
    MedianEffectFits,
    fit_median_effect,
)

__all__ = [
    "HillFit",
    "HillFits",
    "MedianEffectFit",
    "MedianEffectFits",
    "fit_hill",
    "fit_median_effect",
]
