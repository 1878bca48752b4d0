"""Fama–French daily factors: bundled Ken French files, user CSV files, and an online updater.

Factors are returned as a DataFrame indexed by date in **decimal** units: columns ``Mkt-RF,
SMB, HML, RF`` and, where available, ``RMW, CMA, Mom``. ``frame.attrs["factor_units"]`` says
which units the source was in and how that was decided, e.g.
``"percent (detected: median |Mkt-RF| = 0.71, median |RF| = 0.018)"``; print it with the results.
The bundled copy is the 202604 CRSP vintage (through 2026-04-30); see
``eventstudy/data/factors/README.md``.

Units of a user file
--------------------
Ken French's files are in percent; many users' own files are in decimals. With
``units="auto"`` the units are read off the magnitudes (see :func:`detect_units`): a daily
market excess return whose median absolute value is 0.1 or more cannot be decimal (a typical
day of ±10 %), one of 0.06 or less cannot be percent (no 21-session stretch of the US market
since 1926 had a median absolute move below 0.09 %); a median daily RF of 0.005 or more can
only be percent (0.5 per day in decimal is over 100 % a year). When the two disagree or
neither decides, the loader refuses and asks for ``units="percent"`` or ``"decimal"``
(``--factor-units`` on the command line).
"""

from __future__ import annotations

import io
import re
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventStudyError, InputFileError, Problem
from .sources.bundled import data_dir

#: Ken French data-library zip files (daily) used by :func:`download_french_factors`
FRENCH_FILES = {
    "ff3": "F-F_Research_Data_Factors_daily_CSV.zip",
    "ff5": "F-F_Research_Data_5_Factors_2x3_daily_CSV.zip",
    "mom": "F-F_Momentum_Factor_daily_CSV.zip",
}
FRENCH_BASE = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/"
UNITS = ("auto", "percent", "decimal")
#: median |Mkt-RF| at or above which a daily factor file is in percent
PERCENT_MKT_MIN = 0.1
#: median |Mkt-RF| at or below which a daily factor file is in decimals
DECIMAL_MKT_MAX = 0.06
#: median |RF| at or above which a daily factor file can only be in percent
PERCENT_RF_MIN = 0.005
_CANONICAL = {"mktrf": "Mkt-RF", "smb": "SMB", "hml": "HML", "rf": "RF", "rmw": "RMW", "cma": "CMA", "mom": "Mom",
              "umd": "Mom", "wml": "Mom"}


class FactorDataError(EventStudyError):
    """Factor data missing or unusable (e.g. ``--factors cache`` before ``eventstudy factors update``)."""


class FactorFileError(InputFileError):
    """A malformed factor file; each problem names file, row and field."""


def _factor_name(col: str) -> str:
    key = re.sub(r"[\s_\-]", "", col.strip().lower())
    return "date" if key == "date" else _CANONICAL.get(key, col.strip())


@lru_cache(maxsize=1)
def _bundled_percent() -> pd.DataFrame:
    return pd.read_parquet(data_dir() / "factors" / "ff_daily_percent.parquet").set_index("date").astype("float64")


def bundled_factors() -> pd.DataFrame:
    """The bundled daily factors in decimal units."""
    out = _bundled_percent() / 100.0
    out.attrs["factor_units"] = "percent (bundled Ken French files, 202604 vintage)"
    return out


def detect_units(frame: pd.DataFrame, name: str = "<factors>") -> tuple[str, str]:
    """Decide whether daily factor values are in percent or decimals; return ``(units, how)``.

    Rule (see the module docstring): ``m`` = median |Mkt-RF|, ``r`` = median |RF| over the
    observed values. Mkt-RF says *percent* when ``m >= 0.1`` and *decimal* when ``m <= 0.06``;
    RF says *percent* when ``r >= 0.005`` (and nothing otherwise: at zero interest rates RF is
    near 0 in both units). Agreeing or single verdicts decide; a conflict or no verdict raises
    :class:`FactorDataError` asking for explicit units.
    """
    m = float(np.nanmedian(np.abs(frame["Mkt-RF"].to_numpy(float)))) if "Mkt-RF" in frame and \
        frame["Mkt-RF"].notna().any() else np.nan
    r = float(np.nanmedian(np.abs(frame["RF"].to_numpy(float)))) if "RF" in frame and frame["RF"].notna().any() \
        else np.nan
    by_mkt = "percent" if m >= PERCENT_MKT_MIN else "decimal" if m <= DECIMAL_MKT_MAX else None
    by_rf = "percent" if r >= PERCENT_RF_MIN else None
    seen = ", ".join(s for s in (f"median |Mkt-RF| = {m:.4g}" if np.isfinite(m) else "no Mkt-RF values",
                                 f"median |RF| = {r:.4g}" if np.isfinite(r) else "no RF values"))
    if by_mkt and by_rf and by_mkt != by_rf:
        verdict = None
    else:
        verdict = by_mkt or by_rf
    if verdict is None:
        raise FactorDataError(
            f"cannot tell whether the factors in {name} are in percent or decimals ({seen}; percent when median "
            f"|Mkt-RF| >= {PERCENT_MKT_MIN} or median |RF| >= {PERCENT_RF_MIN}, decimal when median |Mkt-RF| <= "
            f"{DECIMAL_MKT_MAX}): pass the units (--factor-units percent or --factor-units decimal)")
    return verdict, f"detected: {seen}"


def apply_units(frame: pd.DataFrame, units: str = "auto", name: str = "<factors>") -> pd.DataFrame:
    """Return ``frame`` in decimal units with ``attrs["factor_units"]`` saying what was used and why."""
    if units not in UNITS:
        raise FactorDataError(f"unknown factor units {units!r}: use one of {', '.join(UNITS)}")
    if units == "auto":
        units, how = detect_units(frame, name)
    else:
        how = f"given: units={units!r}"
        try:
            seen, _ = detect_units(frame, name)
        except FactorDataError:
            seen = units
        if seen != units:
            how += f"; note: the magnitudes look like {seen}"
    out = frame / 100.0 if units == "percent" else frame.copy()
    out.attrs["factor_units"] = f"{units} ({how})"
    return out


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise FactorFileError([Problem(name, 0, "-", "binary data, not a CSV text file")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")   # Ken French's files are ASCII or Latin-1 (the © in the footer)


def parse_factor_text(text: str, name: str = "<factors>") -> pd.DataFrame:
    """Parse a factor CSV in the file's own units: a plain ``date,…`` table or a Ken French daily file.

    The header row is the first line whose first field is ``date`` (any case) or empty and
    whose other fields name factors; lines before it (Ken French's preamble) are skipped, and
    the daily table ends at the first non-date line after it (the annual section, the
    copyright line). Dates are ``YYYYMMDD`` or ``YYYY-MM-DD``. Factor names match
    case-insensitively (``mkt_rf``, ``MKT-RF`` → ``Mkt-RF``; ``UMD`` → ``Mom``). Values of
    −99.99 or less (the library's missing codes) and empty cells become NaN. Every malformed
    cell is reported (file, data row, field) in one :class:`FactorFileError`.
    """
    lines = text.splitlines()
    start = None
    for i, ln in enumerate(lines):
        parts = [p.strip() for p in ln.split(",")]
        if len(parts) > 1 and parts[0].lower() in ("", "date") and any(re.search("[A-Za-z]", p) for p in parts[1:]):
            start = i
            break
    if start is None:
        raise FactorFileError([Problem(name, 0, "header", "no header row (a 'date' column and factor names); "
                                                           "is this a comma-separated factor file?")])
    header = ["date"] + [_factor_name(h) for h in lines[start].split(",")[1:]]
    problems: list[Problem] = []
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        problems.append(Problem(name, 0, dup[0], f"column {dup[0]!r} appears more than once (names match "
                                                 "case-insensitively)"))
    if any(h == "" for h in header[1:]):
        problems.append(Problem(name, 0, "header", "an empty column name"))
    rows, rownums = [], []
    for k, ln in enumerate(lines[start + 1:], start=1):
        parts = [p.strip() for p in ln.split(",")]
        if not parts[0][:1].isdigit():
            if rows:      # the annual section or the footer: the daily table ended
                break
            continue
        if len(parts) != len(header):
            problems.append(Problem(name, k, "-", f"expected {len(header)} fields, found {len(parts)}"))
            continue
        rows.append(parts)
        rownums.append(k)
    if not rows and not problems:
        problems.append(Problem(name, 0, "-", "no data rows"))
    if problems:
        raise FactorFileError(problems)
    raw = pd.DataFrame(rows, columns=header, dtype=str)
    rn = np.asarray(rownums)
    text_dates = raw["date"].str.replace("-", "", regex=False)
    dates = pd.to_datetime(text_dates.where(text_dates.str.fullmatch(r"\d{8}"), None), format="%Y%m%d",
                           errors="coerce")
    bad_dates = raw["date"][dates.isna()]
    if len(bad_dates) == len(raw) and bad_dates.str.fullmatch(r"\d{6}").all():
        raise FactorFileError([Problem(name, 1, "date", f"dates like {bad_dates.iloc[0]!r} are months (YYYYMM): "
                                                        "this is a monthly factor file; event studies need the "
                                                        "daily file")])
    for r, v in zip(rn[dates.isna().to_numpy()], bad_dates):
        problems.append(Problem(name, int(r), "date", f"cannot parse {v!r} as a date (YYYYMMDD or YYYY-MM-DD)"))
    dup_mask = (dates.duplicated() & dates.notna()).to_numpy()
    for r, v in zip(rn[dup_mask], raw["date"][dup_mask]):
        problems.append(Problem(name, int(r), "date", f"duplicate date {v}"))
    values = {}
    for col in header[1:]:
        s = raw[col]
        num = pd.to_numeric(s.where(s != "", None), errors="coerce")
        bad = (num.isna() & s.ne("")).to_numpy() | ~np.isfinite(num.fillna(0).to_numpy(float))
        for r, v in zip(rn[bad], s[bad]):
            problems.append(Problem(name, int(r), col, f"not a number: {v!r}"))
        values[col] = num.to_numpy(dtype="float64")
    if problems:
        raise FactorFileError(sorted(problems, key=lambda p: (p.row, p.field)))
    out = pd.DataFrame(values, index=pd.DatetimeIndex(dates, name="date"))
    out = out.mask(out <= -99.99)
    return out if out.index.is_monotonic_increasing else out.sort_index()


def parse_french_csv(text: str, name: str = "<factors>") -> pd.DataFrame:
    """Parse one Ken French daily CSV (text preamble, header row, percent values, footer); percent units."""
    return parse_factor_text(text, name)


def read_factor_csv(path: str | Path, units: str | bool = "auto") -> pd.DataFrame:
    """Read a user factor CSV (plain ``date,…`` or Ken French format) and return decimal factors.

    ``units``: ``"auto"`` (detect, see :func:`detect_units`), ``"percent"`` or ``"decimal"``
    (``True``/``False`` are accepted for percent/decimal, the former ``percent`` flag).
    """
    if isinstance(units, bool):
        units = "percent" if units else "decimal"
    path = Path(path).expanduser()
    name = str(path)
    if not path.exists():
        raise FactorFileError([Problem(name, 0, "-", "no such file")])
    if not path.is_file():
        raise FactorFileError([Problem(name, 0, "-", "not a file (a directory?)")])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FactorFileError([Problem(name, 0, "-", f"cannot read: {exc.strerror or exc}")]) from None
    return apply_units(parse_factor_text(_decode(data, name), name), units, name)


def factor_cache_dir() -> Path:
    """Where ``eventstudy factors update`` stores its download (``<cache root>/factors``)."""
    from .sources.cache import default_cache_dir

    return default_cache_dir() / "factors"


def cached_factors() -> pd.DataFrame:
    """The factors downloaded by :func:`download_french_factors` (decimal units)."""
    path = factor_cache_dir() / "factors.parquet"
    if not path.is_file():
        raise FactorDataError(f"no downloaded factor data in {path.parent}: run `eventstudy factors update` first "
                              "(needs network), or use the bundled factors (--factors bundled)")
    import pyarrow as pa

    try:
        frame = pd.read_parquet(path).set_index("date").astype("float64")
    except (pa.ArrowException, OSError, KeyError, ValueError) as exc:
        raise FactorDataError(f"the downloaded factor file {path} is unreadable ({type(exc).__name__}: {exc}); run "
                              "`eventstudy factors update` again") from None
    out = frame / 100.0
    out.attrs["factor_units"] = f"percent (Ken French data library download, {path.name})"
    return out


def download_french_factors(session=None, dest: Path | None = None, timeout: float = 60.0) -> Path:
    """Download the current daily FF3, FF5 and momentum files into the cache (needs network).

    Writes ``factors.parquet`` (percent units, same layout as the bundled file) atomically and
    returns its path. ``session`` is any object with a requests-like ``get``. Failures raise
    :class:`~eventstudy._errors.NetworkError` (no connection, timeout), ``ServerError`` (5xx),
    ``AccessDeniedError`` (401/403), ``SourceFailureError`` (other HTTP errors) or
    :class:`FactorFileError` (a file that does not parse).
    """
    from ._errors import AccessDeniedError, NetworkError, ServerError, SourceFailureError
    from ._io import atomic_write_bytes

    if session is None:
        import requests

        session = requests.Session()
    frames = {}
    for key, fname in FRENCH_FILES.items():
        url = FRENCH_BASE + fname
        try:
            resp = session.get(url, timeout=timeout)
        except OSError as exc:   # requests' exceptions are OSErrors
            raise NetworkError(f"cannot download {url} ({type(exc).__name__}: {exc})") from None
        status = int(getattr(resp, "status_code", 200))
        if status >= 500:
            raise ServerError(f"{url}: server error HTTP {status}")
        if status in (401, 403):
            raise AccessDeniedError(f"{url}: access refused (HTTP {status})")
        if status >= 400:
            raise SourceFailureError(f"{url}: HTTP {status}")
        try:
            with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
                inner = zf.namelist()[0]
                text = zf.read(inner).decode("latin-1")
        except (zipfile.BadZipFile, IndexError, KeyError) as exc:
            raise FactorFileError([Problem(url, 0, "-", f"not a readable zip file ({exc})")]) from None
        frames[key] = parse_factor_text(text, fname)
    merged = frames["ff3"].join(frames["ff5"][["RMW", "CMA"]], how="left").join(frames["mom"], how="left")
    dest = dest or factor_cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    merged.reset_index().to_parquet(buf, index=False)
    out = dest / "factors.parquet"
    atomic_write_bytes(out, buf.getvalue())
    return out


def load_factors(spec: str | Path | pd.DataFrame | None = None, units: str = "auto") -> pd.DataFrame:
    """Daily factors in decimal units from ``None``/``'bundled'`` (default), ``'cache'``, a CSV path, or a frame.

    ``units`` applies to a CSV file or a frame (``"auto"`` detects them, see
    :func:`detect_units`); the bundled and downloaded files are Ken French's percent files.
    A frame that already carries ``attrs["factor_units"]`` (from this function) is returned as is.
    The result's ``attrs["factor_units"]`` says which units were used and how that was decided.
    """
    if units not in UNITS:
        raise FactorDataError(f"unknown factor units {units!r}: use one of {', '.join(UNITS)}")
    if isinstance(spec, pd.DataFrame):
        if "factor_units" in spec.attrs and units == "auto":
            return spec
        frame = spec.copy()
        frame.columns = [_factor_name(str(c)) for c in frame.columns]
        if frame.columns.duplicated().any():
            raise FactorDataError(f"the factor frame has duplicate columns {list(frame.columns)} (names match "
                                  "case-insensitively)")
        try:
            frame = frame.astype("float64")
        except (ValueError, TypeError) as exc:
            raise FactorDataError(f"the factor frame has non-numeric values ({exc})") from None
        return apply_units(frame, units, "the factor frame")
    if spec is None or spec in ("bundled", "cache"):
        if units == "decimal":
            raise FactorDataError(f"the {spec or 'bundled'} factors are Ken French's percent files; factor units "
                                  "apply to your own factor file (--factors PATH)")
        return bundled_factors() if spec != "cache" else cached_factors()
    path = Path(spec).expanduser()
    if not path.exists():
        raise FactorDataError(f"factor data {str(spec)!r} is neither 'bundled', 'cache' nor an existing CSV file")
    return read_factor_csv(path, units)
