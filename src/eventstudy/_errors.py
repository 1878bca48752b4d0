"""Exception and warning classes, in one place so users can catch or filter them by class."""

from __future__ import annotations

from dataclasses import dataclass


class EventStudyError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file: where it is and what is wrong.

    ``row`` is the 1-based data row (the header is row 0); ``row=0`` means the header
    or the file as a whole.
    """

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}" if self.row else self.file
        return f"{where}, field '{self.field}': {self.message}"


class InputFileError(EventStudyError):
    """A malformed input file. ``problems`` names file, row and field of each fault."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:20])
        more = f"\n  … and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} problem(s) in input:\n{shown}{more}")


class EventFileError(InputFileError):
    """A malformed event file."""


class PriceFileError(InputFileError):
    """A malformed price file (CSV source)."""


class PriceSourceError(EventStudyError):
    """A price source could not deliver data."""


class TickerNotFoundError(PriceSourceError):
    """The source has no data at all for this ticker (study status ``no_prices``)."""


class SourceFailureError(PriceSourceError):
    """The source failed to answer (study status ``source_error``): not evidence that the ticker has no data.

    Subclasses name what failed; the study exits non-zero when any event failed this way unless the
    user allows it (``--allow-source-errors``).
    """


class NetworkError(SourceFailureError):
    """The network (or Yahoo) could not be reached, or a request timed out."""


class RateLimitedError(SourceFailureError):
    """Yahoo answered 429 (too many requests) after every retry."""


class ServerError(SourceFailureError):
    """The server answered with an HTTP 5xx error."""


class AccessDeniedError(SourceFailureError):
    """The server refused access (HTTP 401 / 403): a credential, crumb or block problem, not a network outage."""


class CorruptCacheError(SourceFailureError):
    """A cache file exists but cannot be read; ``path`` names it."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


class OfflineCacheMissError(SourceFailureError):
    """Offline mode was asked for data that the cache does not hold."""


class ResultsFolderError(EventStudyError):
    """A results folder cannot be written (``--out`` is a file, read-only, holds foreign files, disk full)
    or read (missing, hand-edited, truncated or mixed files); the message names the folder or file."""
