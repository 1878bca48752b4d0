"""From raw news digests to a draft events file.

``import_digests(paths) -> (events, skipped)`` parses digests (:mod:`.parsers`), names the company
and resolves its ticker (:mod:`.resolve`, :mod:`.names`), types the event by rules
(:mod:`.classify`), dates and times it (:mod:`.timing`), merges duplicates and returns a draft in
the event schema with the review columns ``needs_review``, ``evidence`` and ``sources``.
:mod:`.review` formats the candidates that need a person. See ``docs/news_import.md``.
"""

from .importer import DRAFT_COLUMNS, REVIEW_COLUMNS, SKIPPED_COLUMNS, import_digests, skipped_path, write_draft

__all__ = ["DRAFT_COLUMNS", "REVIEW_COLUMNS", "SKIPPED_COLUMNS", "import_digests", "skipped_path", "write_draft"]
