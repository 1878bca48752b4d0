"""eventstudy: stock event studies for biotech/pharma news.

Data flow: events → aligned panel → normal-return model → abnormal returns/volume →
inference → results → exports and plots. The usual entry point is :func:`run_study`.

The public names are imported lazily (PEP 562), so that ``import eventstudy`` and the command line's
``--help`` do not pay for pandas, scipy or matplotlib until a study actually needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
    "run_study": ".study", "StudySpec": ".study", "EventStudyResults": ".results", "study": ".quick",
    "load_events": ".events", "validate_events": ".events",
    "EventStudyError": "._errors", "EventFileError": "._errors", "PriceFileError": "._errors",
    "PriceSourceError": "._errors", "Problem": "._errors",
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from ._errors import EventFileError, EventStudyError, PriceFileError, PriceSourceError, Problem
    from .events import load_events, validate_events
    from .results import EventStudyResults
    from .quick import study
    from .study import StudySpec, run_study


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'eventstudy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
