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
    """The source has no data at all for this ticker."""


class NetworkError(PriceSourceError):
    """The network (or Yahoo) could not be reached."""


class RateLimitedError(PriceSourceError):
    """Yahoo answered 429 (too many requests) after every retry."""


class OfflineCacheMissError(PriceSourceError):
    """Offline mode was asked for data that the cache does not hold."""
