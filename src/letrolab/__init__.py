"""letrolab: the letrozole - IGF-1 system in hormone-receptor-positive breast cancer.

Analysis of real lab data (dose-response, Chou-Talalay and reference synergy models, flow
cytometry, plate reads, Western blots), a calibrated mechanistic model of the signalling network
and the patient around it, and the seed's experiments run virtually through the same analysis
code. See the README for a tour.
"""

from letrolab.errors import (
    FitError,
    FormatError,
    InputError,
    LetrolabError,
    ModelError,
    UnitError,
)

__version__ = "0.1.0"

__all__ = [
    "FitError",
    "FormatError",
    "InputError",
    "LetrolabError",
    "ModelError",
    "UnitError",
    "__version__",
]
