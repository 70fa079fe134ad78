"""letrolab.doseresponse."""

from letrolab.doseresponse.hill import HillFit, HillFits, fit_hill

__all__ = ["HillFit", "HillFits", "fit_hill"]
