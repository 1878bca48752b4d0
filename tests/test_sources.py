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


def test_grid_of_many_tickers_is_the_stack_of_one_ticker_grids():
    """build_grid lays every ticker out in one block: no run (basis change, repeated bar) may continue from
    one ticker into the next, and each row must equal the grid of that ticker alone. Real bundled prices
    plus SYNTHETIC series with a basis splice at a ticker boundary, repeated bars, gaps, non-sessions."""
    from eventstudy.panel import build_grid
    from eventstudy.sources.base import normalize_bars
    from eventstudy.synthetic import synthetic_bars

    src = BundledSource()
    bars = {t: normalize_bars(src.bars(t)) for t in src.tickers()[:6]}
    syn = synthetic_bars(4, start="2024-01-02", n_days=200, seed=9)
    a, b, c, d = (syn[k].copy() for k in list(syn)[1:5])
    b["adj_close"] = np.nan                                     # b: raw closes on the cent grid
    b["close"] = np.round(b["close"], 2)
    a.iloc[-3:] = b.iloc[0].to_numpy()                          # a ends on repeated bars, the very bar ...
    a.iloc[-3:, a.columns.get_loc("adj_close")] = b["close"].iloc[0]
    b.iloc[:3] = b.iloc[0].to_numpy()                           # ... b starts with (open to volume alike)
    c.iloc[:3, c.columns.get_loc("adj_close")] = np.nan         # c: starts raw, then adjusted
    c.iloc[:3, c.columns.get_loc("close")] = np.round(c["close"].iloc[:3], 2)
    d = pd.concat([d.iloc[::2], d.iloc[1:5].set_axis(d.index[1:5] + pd.Timedelta(hours=12))]).sort_index()
    bars.update({"SYNA": a, "SYNB": b, "SYNC": c, "SYND": d})
    sessions = pd.DatetimeIndex(sorted(set().union(*[set(v.index.normalize()) for v in bars.values()])))
    grid = build_grid(bars, sessions)
    assert grid.flags["basis_change"].any() and grid.flags["stale_bars"].any() and grid.non_session_rows.any()
    for i, t in enumerate(grid.tickers):
        one = build_grid({t: bars[t]}, sessions)
        for f in ("logp", "close", "volume", "prev", "first", "last", "non_session_rows"):
            np.testing.assert_array_equal(np.asarray(getattr(grid, f))[i], np.asarray(getattr(one, f))[0], err_msg=f"{t} {f}")
        for name, ind in grid.flags.items():
            np.testing.assert_array_equal(ind[i], one.flags[name][0], err_msg=f"{t} {name}")


@pytest.mark.parametrize("stamp,expected", [
    ("2026-01-21", "2026-01-21"),
    ("2026-01-21 16:00:00", "2026-01-21"),              # no offset: exchange-local, date part
    ("2026-01-21T09:30", "2026-01-21"),
    ("2026-01-21T00:00:00-08:00", "2026-01-21"),        # 03:00 in New York
    ("2026-01-20T21:00:00-08:00", "2026-01-21"),        # midnight in New York: not the 20th
    ("2026-01-21 05:00:00+00:00", "2026-01-21"),        # midnight in New York
    ("2026-01-21T04:59:00Z", "2026-01-20"),             # 23:59 on the 20th in New York
    ("2026-07-01T03:30:00+0000", "2026-06-30"),         # summer time: UTC−4
    ("2026-01-21 00:00:00-05:00", "2026-01-21"),        # yfinance's own export
])
def test_price_time_stamps_become_new_york_dates(tmp_path, stamp, expected):
    (tmp_path / "TZ.csv").write_text(f"Date,Close\n{stamp},10\n")
    bars = CsvDirectorySource(tmp_path).bars("TZ")
    assert bars.index.tolist() == [pd.Timestamp(expected)]


def test_stamps_that_collide_on_one_new_york_date_are_duplicates(tmp_path):
    (tmp_path / "TZ.csv").write_text("date,close\n2026-01-21T14:00:00Z,1\n2026-01-22T01:00:00Z,2\n")
    with pytest.raises(PriceFileError, match=r"row 2, field 'date': duplicate date .*2026-01-21"):
        CsvDirectorySource(tmp_path).bars("TZ")


@pytest.mark.parametrize("stamp", ["2026-01-21garbage", "21/01/2026", "2026-01-21T25:00:00+00:00", "9999-99-99"])
def test_unreadable_stamps_are_problems(tmp_path, stamp):
    (tmp_path / "X.csv").write_text(f"date,close\n2026-01-20,1\n{stamp},2\n")
    with pytest.raises(PriceFileError, match="row 2, field 'date'"):
        CsvDirectorySource(tmp_path).bars("X")


def test_two_files_for_one_ticker_are_an_error_naming_both(tmp_path):
    for name in ("IBRX.csv", "ibrx.csv", "BRK-B.csv", "BRK.B.csv", "ok.CSV"):
        (tmp_path / name).write_text("date,close\n2024-01-02,1\n")
    src = CsvDirectorySource(tmp_path)
    with pytest.raises(PriceFileError) as info:
        src.bars("ibrx")
    assert "IBRX.csv" in str(info.value) and "ibrx.csv" in str(info.value)
    with pytest.raises(PriceFileError, match="BRK-B.csv and .*BRK.B.csv"):
        src.bars("BRK-B")
    assert src.bars("OK")["close"].tolist() == [1.0]      # suffix case does not matter


def test_bars_start_end(tmp_path):
    (tmp_path / "X.csv").write_text("date,close\n2024-01-02,1\n2024-01-03,2\n2024-01-04,3\n2024-01-05,4\n")
    src = CsvDirectorySource(tmp_path)
    assert src.bars("X", start=pd.Timestamp("2024-01-03"), end=pd.Timestamp("2024-01-04"))["close"].tolist() == [2, 3]
    assert src.bars("X", start=pd.Timestamp("2024-01-04"))["close"].tolist() == [3, 4]
    assert src.bars("X", end=pd.Timestamp("2024-01-02"))["close"].tolist() == [1]
    assert len(src.bars("X")) == 4


def test_fast_and_slow_parse_agree_on_real_data(tmp_path):
    """The typed pyarrow path and the text path give the same bars (bundled IBRX written as CSV)."""
    from eventstudy.sources import csvdir

    b = BundledSource().bars("IBRX")
    b.reset_index().to_csv(tmp_path / "IBRX.csv", index=False)
    data = (tmp_path / "IBRX.csv").read_bytes()
    fast = csvdir._fast_parse(data, "IBRX.csv")
    assert fast is not None
    slow = csvdir._slow_parse(data, "IBRX.csv", tmp_path / "IBRX.csv")
    pd.testing.assert_frame_equal(csvdir.normalize_bars(fast), csvdir.normalize_bars(slow))
    pd.testing.assert_frame_equal(CsvDirectorySource(tmp_path).bars("IBRX"), b, check_freq=False)


@pytest.mark.parametrize("body,field", [
    ("date,close\n2024-01-02, 10 \n2024-01-03,11\n", None),           # blanks around a number: slow path, no problem
    ("date,close\n2024-01-02,NA\n", "close"),                          # NA is not one of the missing markers
    ("date,close\n2024-01-02,inf\n", "close"),
    ("date,close,Close\n2024-01-02,1,1\n", "close"),                   # the same column twice
    ("date,adj close,volume\n2024-01-02,1,\n2024-01-03,null,5\n", None),
])
def test_price_file_edge_cases(tmp_path, body, field):
    (tmp_path / "X.csv").write_text(body)
    src = CsvDirectorySource(tmp_path)
    if field is None:
        assert len(src.bars("X")) == body.count("\n") - 1
    else:
        with pytest.raises(PriceFileError) as info:
            src.bars("X")
        assert {p.field for p in info.value.problems} == {field}


@pytest.mark.parametrize("content,needle", [
    (b"date;close\n2024-01-02;1,5\n", "semicolon-separated"),
    ("date,close\n2024-01-02,1\n# März\n".encode("cp1252"), "not UTF-8"),
    (b"", "empty"),
    (b"\xef\xbb\xbfdate,close\n2024-01-02,1\n", None),                 # a BOM is fine
])
def test_price_file_encodings_and_delimiters(tmp_path, content, needle):
    (tmp_path / "X.csv").write_bytes(content)
    src = CsvDirectorySource(tmp_path)
    if needle is None:
        assert src.bars("X")["close"].tolist() == [1.0]
    else:
        with pytest.raises(PriceFileError, match=needle):
            src.bars("X")


def test_price_file_that_is_a_folder_or_dangling_link(tmp_path):
    (tmp_path / "DIRX.csv").mkdir()
    (tmp_path / "LNK.csv").symlink_to(tmp_path / "gone.csv")
    src = CsvDirectorySource(tmp_path)
    with pytest.raises(PriceFileError, match="is a folder"):
        src.bars("DIRX")
    with pytest.raises(PriceFileError, match="does not exist"):
        src.bars("LNK")


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
def test_price_dates_beyond_pandas_range_are_problems(tmp_path, date):
    (tmp_path / "X.csv").write_text(f"date,close\n2024-01-02,1\n{date},2\n")
    with pytest.raises(PriceFileError, match="row 2, field 'date': .*outside the supported dates"):
        CsvDirectorySource(tmp_path).bars("X")


def test_batch_parse_gives_the_bars_and_errors_of_one_by_one(tmp_path):
    """A folder read through ``prefetch`` (files of one header parsed as one table) serves exactly what
    reading each file alone serves, and files the batch cannot take (time stamps, unsorted, blank lines,
    quotes, lone carriage returns, bad cells, negative prices) keep their own result or error."""
    from eventstudy._errors import InputFileError
    from eventstudy.sources import csvdir

    rng = np.random.default_rng(5)
    days = pd.bdate_range("2024-01-02", periods=40)
    for i in range(12):                              # clean files of one header (one batch)
        px = np.round(20 + rng.standard_normal(len(days)).cumsum(), 4)
        lines = [f"{d.date()},{p},{p},{p},{p},{int(1000 + 10 * k)}" for k, (d, p) in enumerate(zip(days, px))]
        (tmp_path / f"C{i:02d}.csv").write_text("date,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    odd = {
        "CRLF": "date,close\r\n2024-01-02,1\r\n2024-01-03,2\r\n",
        "CRLONE": "date,close\n2024-01-02,1\r2024-01-03,2\n",
        "BOM": "\ufeffdate,close\n2024-01-02,1\n2024-01-03,2\n",
        "NOEOL": "date,close\n2024-01-02,1\n2024-01-03,2",
        "BLANK": "date,close\n2024-01-02,1\n\n2024-01-03,2\n",
        "QUOTE": 'date,close\n2024-01-02,"1"\n2024-01-03,2\n',
        "OPENQ": 'date,close\n2024-01-02,"1\n2024-01-03,2\n',
        "STAMP": "date,close\n2024-01-02T16:00:00-05:00,1\n2024-01-03T16:00:00-05:00,2\n",
        "UNSORTED": "date,close\n2024-01-03,2\n2024-01-02,1\n",
        "DUP": "date,close\n2024-01-02,1\n2024-01-02,2\n",
        "NEG": "date,close\n2024-01-02,-1\n2024-01-03,2\n",
        "TEXT": "date,close\n2024-01-02,abc\n2024-01-03,2\n",
        "EMPTYDATE": "date,close\n,1\n2024-01-03,2\n",
        "FAR": "date,close\n1650-01-02,1\n2024-01-03,2\n",
        "HEADONLY": "date,close\n",
        "ADJ": "Date,Adj Close\n2024-01-02,1.5\n2024-01-03,null\n2024-01-04,2.5\n",
        "ADJ2": "Date,Adj Close\n2024-01-02,3\n2024-01-03,4\n",
    }
    for name, text in odd.items():
        (tmp_path / f"{name}.csv").write_bytes(text.encode("utf-8"))
    tickers = sorted(p.stem for p in tmp_path.glob("*.csv")) + ["MISSING"]

    def outcome(src, t, arrays=False):
        try:
            start = pd.Timestamp("2024-01-03") if t == "C03" else None
            return arrays_frame(*src.bar_arrays(t, start=start)) if arrays else src.bars(t, start=start)
        except (InputFileError, TickerNotFoundError) as exc:
            return f"{type(exc).__name__}: {exc}"

    from eventstudy.sources.base import arrays_frame

    alone = CsvDirectorySource(tmp_path)
    batch = CsvDirectorySource(tmp_path)
    batch.prefetch(tickers)
    by_arrays = CsvDirectorySource(tmp_path)          # the arrays a study reads: the same bars
    by_arrays.prefetch(tickers)
    assert {f"C{i:02d}" for i in range(12)} | {"CRLF", "BOM", "QUOTE", "ADJ", "ADJ2"} <= set(batch._ready)
    assert not {"CRLONE", "NOEOL", "BLANK", "OPENQ", "STAMP", "UNSORTED", "DUP", "NEG", "TEXT", "EMPTYDATE", "FAR",
                "HEADONLY"} & set(batch._ready)
    for t in tickers:
        a, b, c = outcome(alone, t), outcome(batch, t), outcome(by_arrays, t, arrays=True)
        if isinstance(a, str):
            assert a == b == c, t
        else:
            pd.testing.assert_frame_equal(a, b, check_exact=True, check_freq=False)
            pd.testing.assert_frame_equal(a, c, check_exact=True, check_freq=False)
    assert alone.describe() == batch.describe()
    assert not batch._ready                         # each prefetched file is served once
    # the values are the file's own: spot-check one clean file against a plain text read
    ref = pd.read_csv(tmp_path / "C07.csv", parse_dates=["date"]).set_index("date")
    got = CsvDirectorySource(tmp_path)
    got.prefetch(["C07"])
    np.testing.assert_array_equal(got.bars("C07")["close"].to_numpy(), ref["close"].to_numpy())


def test_batch_parse_splits_a_batch_with_a_bad_cell(tmp_path, monkeypatch):
    """One file with a cell that does not convert does not send its batch-mates to the one-by-one path."""
    from eventstudy.sources import csvdir

    for i in range(9):
        (tmp_path / f"F{i}.csv").write_text(f"date,close\n2024-01-02,{i + 1}\n2024-01-03,{i + 2}\n")
    (tmp_path / "F4.csv").write_text("date,close\n2024-01-02,x\n")
    files = {p.stem: p.read_bytes() for p in sorted(tmp_path.glob("*.csv"))}
    parsed = csvdir.parse_price_files(files)
    assert set(parsed) == {f"F{i}" for i in range(9)} - {"F4"}
    assert parsed["F8"][1][3].tolist() == [9.0, 10.0]        # row 3 of the canonical values: close
    monkeypatch.setattr(csvdir, "BATCH_FILES", 2)     # several batches of one header
    assert {k: v[1][3].tolist() for k, v in csvdir.parse_price_files(files).items()} == \
        {k: v[1][3].tolist() for k, v in parsed.items()}


def _bars_of(n: int = 6) -> pd.DataFrame:
    idx = pd.bdate_range("2024-01-02", periods=n, name="date")
    x = np.arange(1.0, n + 1)
    return pd.DataFrame({"open": x, "high": x + 0.5, "low": x - 0.5, "close": x + 0.25, "adj_close": x + 0.125,
                         "volume": 1e3 * x}, index=idx)


def test_frame_arrays_are_the_canonical_columns_in_order_and_round_trip():
    from eventstudy.sources.base import PRICE_COLUMNS, arrays_frame, frame_arrays

    bars = _bars_of()
    shuffled = bars[["volume", "close", "adj_close", "low", "open", "high"]]
    for frame in (bars, shuffled):
        dates, values = frame_arrays(frame)
        assert values.shape == (6, len(frame)) and values.dtype == np.float64
        for k, col in enumerate(PRICE_COLUMNS):          # row k is column k, whatever the frame's order
            np.testing.assert_array_equal(values[k], bars[col].to_numpy())
        np.testing.assert_array_equal(dates, bars.index.to_numpy())
        pd.testing.assert_frame_equal(arrays_frame(dates, values), bars, check_freq=False)


def test_in_memory_arrays_are_the_bars_of_the_range():
    from eventstudy.sources import InMemorySource
    from eventstudy.sources.base import frame_arrays

    bars = _bars_of(10).iloc[::-1]                      # given out of order: served ascending
    src = InMemorySource({"abc": bars})
    for start, end in ((None, None), ("2024-01-04", None), (None, "2024-01-09"), ("2024-01-05", "2024-01-08"),
                       ("2023-01-01", "2023-02-01"), ("2024-01-06 12:00", "2024-01-10")):
        want = bars.sort_index().loc[start:end]
        dates, values = src.bar_arrays("ABC", None if start is None else pd.Timestamp(start),
                                       None if end is None else pd.Timestamp(end))
        w_dates, w_values = frame_arrays(want)
        np.testing.assert_array_equal(dates, w_dates)
        np.testing.assert_array_equal(values, w_values)
        pd.testing.assert_frame_equal(src.bars("abc", start, end), want, check_freq=False)
    with pytest.raises(TickerNotFoundError):
        src.bar_arrays("ZZZ")


def test_a_subclass_that_overrides_bars_alone_is_read_through_its_bars():
    """The array path must never bypass an override of ``bars`` (a wrapper that filters, flags or fails)."""
    from eventstudy.sources import InMemorySource
    from eventstudy.sources.base import array_reader
    from eventstudy.study import load_prices

    class Flagging(InMemorySource):
        def bars(self, ticker, start=None, end=None):
            out = super().bars(ticker, start, end).copy()
            out.attrs["source_flags"] = {"stale_cache": "2024-01-05"}
            out.loc[out.index[0], "close"] = 99.0
            return out

    src = Flagging({"ABC": _bars_of()})
    assert array_reader(src) is None and array_reader(InMemorySource({})) is not None
    loaded = load_prices(src, ["ABC", "NOPE"])
    assert loaded.flags == {"ABC": {"stale_cache": "2024-01-05"}}
    assert loaded.arrays["ABC"][1][3, 0] == 99.0 and loaded.bars["ABC"]["close"].iat[0] == 99.0
    assert loaded.failed["NOPE"][0] == "no_prices"
    plain = InMemorySource({"ABC": _bars_of()})
    plain.bars = lambda *a, **k: (_ for _ in ()).throw(TickerNotFoundError("patched"))   # replaced on the instance
    assert array_reader(plain) is None and load_prices(plain, ["ABC"]).failed["ABC"] == ("no_prices", "patched")


def test_loaded_arrays_and_frames_are_the_same_bars():
    from eventstudy.sources import InMemorySource
    from eventstudy.study import load_prices

    src = InMemorySource({"ABC": _bars_of(8), "EMPTY": _bars_of(3).assign(close=np.nan, adj_close=np.nan)})
    loaded = load_prices(src, ["ABC", "EMPTY"], ranges={"ABC": (pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-08")),
                                                         "EMPTY": (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31"))})
    assert loaded.failed["EMPTY"][0] == "outside_data"
    pd.testing.assert_frame_equal(loaded.bars["ABC"], _bars_of(8).loc["2024-01-03":"2024-01-08"], check_freq=False)


@pytest.mark.parametrize("make", [
    lambda b: b,                                                      # canonical, float
    lambda b: b.astype({"volume": "int64"}),                          # mixed float and int columns
    lambda b: b.astype("int64"),                                      # all int
    lambda b: b.iloc[::-1],                                           # descending dates
    lambda b: b.drop(columns="adj_close"),                            # a column missing
    lambda b: b[["close", "open", "high", "low", "adj_close", "volume"]],   # columns out of order
    lambda b: b.astype({"close": str}),                               # a text column
    lambda b: b.astype(bool),                                         # bool columns
    lambda b: b.set_axis(b.index.strftime("%Y-%m-%d")),               # dates as text
    lambda b: b.set_axis(b.index.tz_localize("America/New_York")),    # tz-aware dates
    lambda b: b.set_axis(b.index.as_unit("us")),                      # another datetime unit
])
def test_canonical_arrays_are_the_arrays_of_the_normalized_frame(make):
    from eventstudy.sources.base import canonical_arrays, frame_arrays, normalize_bars

    frame = make(_bars_of(7))
    dates, values = canonical_arrays(frame)
    w_dates, w_values = frame_arrays(normalize_bars(frame))
    assert dates.dtype == w_dates.dtype and values.flags.c_contiguous and values.dtype == np.float64
    np.testing.assert_array_equal(dates, w_dates)
    np.testing.assert_array_equal(values, w_values)
    values[:] = -1.0                                                  # fresh arrays: the caller's frame is untouched
    assert (frame.to_numpy(dtype=object) != -1.0).all()


@pytest.mark.parametrize("dataset", ["seed", "universe"])
def test_bundled_bars_are_the_rows_of_the_ticker(dataset):
    """Served from a per-ticker index of the table: the same bars as selecting the ticker's rows by
    comparison and normalising them, for every ticker and a few ranges."""
    from eventstudy.sources.base import normalize_bars
    from eventstudy.sources.bundled import _load

    src, table = open_source(f"bundled:{dataset}"), _load(dataset)
    tickers = src.tickers()
    for k, t in enumerate(tickers):
        want = normalize_bars(table[table["ticker"] == t].set_index("date").drop(columns="ticker"))
        mid = want.index[len(want) // 2]
        for start, end in ((None, None), (mid, None), (None, mid), (mid, mid + pd.Timedelta(days=40)))[:4 if k < 5 else 1]:
            pd.testing.assert_frame_equal(src.bars(t.lower() if k % 2 else t, start, end), want.loc[start:end],
                                          check_exact=True, check_freq=False)
    with pytest.raises(TickerNotFoundError):
        src.bar_arrays("ZZZZ")
