"""eventstudy: stock event studies for biotech/pharma news.

Data flow: events → aligned panel → normal-return model → abnormal returns/volume →
inference → results → exports and plots. The usual entry point is :func:`run_study`.
"""

from ._errors import EventFileError, EventStudyError, PriceFileError, PriceSourceError, Problem
from .events import load_events, validate_events
from .results import EventStudyResults
from .study import StudySpec, run_study

__version__ = "0.1.0"

__all__ = ["run_study", "StudySpec", "EventStudyResults", "load_events", "validate_events", "EventStudyError",
           "EventFileError", "PriceFileError", "PriceSourceError", "Problem", "__version__"]
