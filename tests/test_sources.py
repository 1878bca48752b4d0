"""Price sources: bundled datasets, CSV directories, malformed files, and real-data faults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy import PriceFileError, PriceSourceError
from eventstudy._errors import TickerNotFoundError
from eventstudy.sources import BundledSource, CsvDirectorySource, open_source
from eventstudy.panel import basis_changes


def test_bundled_seed_has_the_documented_tickers_and_values():
    src = BundledSource()
    assert {"IBRX", "XBI", "IBB", "SPY", "PFE", "GILD", "MTSR"} <= set(src.tickers())
    ibrx = src.bars("IBRX")
    # values as in shared/data/seed_sample/prices/IBRX.csv (lines 786-787)
    assert ibrx.loc["2026-01-21", "volume"] == 96_093_500
    assert ibrx.loc["2026-01-20", "volume"] == 211_045_100
    assert ibrx.loc["2026-01-21", "close"] == pytest.approx(6.92, abs=1e-6)
    assert ibrx.index.min() == pd.Timestamp("2022-12-01") and ibrx.index.max() == pd.Timestamp("2026-08-12")
    # NBTX: 33 zero-volume days kept as zeros, not missing
    assert (BundledSource().bars("NBTX")["volume"] == 0).sum() == 33
    with pytest.raises(TickerNotFoundError):
        src.bars("ZZZZ")


def test_bundled_universe_dataset():
    src = open_source("bundled:universe")
    assert len(src.tickers()) == 220
    gild = src.bars("GILD")
    assert gild.index.min() == pd.Timestamp("2013-06-03") and np.isfinite(gild["adj_close"]).all()
    with pytest.raises(PriceSourceError):
        open_source("bundled:nope")


def test_csv_directory_source_with_odd_tickers(tmp_path):
    (tmp_path / "^GSPC.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
                                        "2024-01-02,1,1,1,4742.83,4742.83,0\n2024-01-03,1,1,1,4704.81,4704.81,0\n")
    (tmp_path / "BRK-B.csv").write_text("date,close\n2024-01-02,362.46\n2024-01-03,360.1\n")
    src = open_source(str(tmp_path))
    assert isinstance(src, CsvDirectorySource)
    g = src.bars("^GSPC")
    assert g["adj_close"].tolist() == [4742.83, 4704.81] and g["volume"].tolist() == [0.0, 0.0]
    b = src.bars("BRK.B")
    assert b["close"].tolist() == [362.46, 360.1] and b["adj_close"].isna().all() and b["volume"].isna().all()
    assert "BRK-B" in src.describe()["files_sha256"] or "BRK.B" in src.describe()["files_sha256"]
    with pytest.raises(TickerNotFoundError):
        src.bars("MSFT")


def test_malformed_price_file_names_file_row_field(tmp_path):
    (tmp_path / "BAD.csv").write_text("date,close,volume\n2024-01-02,10,100\n2024-01-03,abc,100\n"
                                      "2024-01-03,11,100\n2024-02-30,12,-5\n")
    with pytest.raises(PriceFileError) as info:
        CsvDirectorySource(tmp_path).bars("BAD")
    got = {(p.row, p.field) for p in info.value.problems}
    assert got == {(2, "close"), (3, "date"), (4, "date"), (4, "volume")}
    assert "BAD.csv, row 2, field 'close': not a number: 'abc'" in str(info.value)
    (tmp_path / "NOCLOSE.csv").write_text("date,open\n2024-01-02,1\n")
    with pytest.raises(PriceFileError, match="'close' or 'adj_close'"):
        CsvDirectorySource(tmp_path).bars("NOCLOSE")


def test_unknown_source_spec():
    with pytest.raises(PriceSourceError, match="unknown price source"):
        open_source("/no/such/dir")


@pytest.mark.parametrize("labels,expected", [
    ([1, 1, 1, 0, 0, 0], [3]),           # a clean switch
    ([1, 1, 1, 0, 1, 1, 1], []),         # one isolated sub-penny close: not a basis change
    ([0, 0, 0, 1, 1, 1, 0, 0, 0], [3, 6]),
    ([2, 2, 2, 1, 1, 1], [3]),           # adj_close -> close splice
])
def test_basis_changes(labels, expected):
    assert np.flatnonzero(basis_changes(np.array(labels))).tolist() == expected
