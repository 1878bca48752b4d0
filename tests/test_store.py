"""The parquet price store: build from a CSV folder, read by ticker, fail loudly when broken.

Prices here are SYNTHETIC (seeded ``synthetic_bars``; tickers SYN…/SYNMKT), for tests only.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy._errors import PriceFileError, SourceFailureError, TickerNotFoundError
from eventstudy.sources import CsvDirectorySource
from eventstudy.sources.csvdir import read_price_csv
from eventstudy.sources.store import CorruptStoreError, StoreError, StoreSource, build_store, ticker_bucket
from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory):
    """A folder of SYNTHETIC price CSVs with the shapes real folders have: gaps, no adj_close, odd names."""
    d = tmp_path_factory.mktemp("prices")
    bars = synthetic_bars(6, start="2019-01-02", n_days=520, seed=7)
    for t, b in bars.items():
        f = b.copy()
        f.index = f.index.strftime("%Y-%m-%d")
        if t == "SYN0001":
            f.iloc[30:33, f.columns.get_loc("close")] = np.nan      # an unobserved stretch
            f.iloc[40, f.columns.get_loc("volume")] = 0.0             # a zero-volume day stays zero
        if t == "SYN0002":
            f = f.drop(columns=["adj_close", "open", "high", "low"])  # close and volume only
        f.to_csv(d / f"{t}.csv", index_label="date")
    (d / "BRK-B.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
                                 "2019-01-02,200,201,199,200.5,200.5,1000\n2019-01-03,201,202,200,201.5,201.5,1100\n")
    (d / "notes.txt").write_text("not a price file\n")
    return d


@pytest.fixture(scope="module")
def store(csv_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("stores") / "prices.store"
    build_store(csv_dir, out, n_buckets=3)
    return out


def test_round_trip_gives_the_bars_of_the_csv_reader(csv_dir, store):
    src = StoreSource(store)
    files = sorted(csv_dir.glob("*.csv"))
    assert src.tickers() == sorted(p.stem.upper() for p in files)
    for path in files:
        direct = read_price_csv(path)
        got = src.bars(path.stem)
        pd.testing.assert_frame_equal(got, direct, check_exact=True)
        pd.testing.assert_frame_equal(got, CsvDirectorySource(csv_dir).bars(path.stem), check_exact=True)
    syn1 = src.bars("SYN0001")
    assert syn1["close"].isna().sum() == 3 and (syn1["volume"] == 0).sum() == 1
    assert src.bars("SYN0002")["adj_close"].isna().all()


def test_manifest_records_rows_dates_and_input_digests(csv_dir, store):
    m = json.loads((store / "manifest.json").read_text())
    assert m["n_tickers"] == 8 and m["n_skipped"] == 0 and m["partitioning"]["n_buckets"] == 3
    for path in csv_dir.glob("*.csv"):
        raw = pd.read_csv(path)
        e = m["tickers"][path.stem.upper()]
        assert e["rows"] == len(raw)
        assert (e["first"], e["last"]) == (raw.iloc[0, 0], raw.iloc[-1, 0])
        assert e["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert e["bucket"] == ticker_bucket(path.stem.upper(), 3)
        assert (store / "data" / f"bucket={e['bucket']:03d}" / "part-0.parquet").is_file()
    assert m["n_rows"] == sum(len(pd.read_csv(p)) for p in csv_dir.glob("*.csv"))
    assert m["first_date"] == "2019-01-02"


def test_store_is_one_hive_dataset_with_float64_bars(store):
    import pyarrow as pa
    import pyarrow.dataset as ds

    d = ds.dataset(store / "data", format="parquet", partitioning="hive")
    m = json.loads((store / "manifest.json").read_text())
    assert d.count_rows() == m["n_rows"]
    for c in ("open", "high", "low", "close", "adj_close", "volume"):
        assert d.schema.field(c).type == pa.float64()
    assert d.to_table(filter=ds.field("bucket") == ticker_bucket("SYNMKT", 3)).column("ticker").to_pylist().count(
        "SYNMKT") == m["tickers"]["SYNMKT"]["rows"]


def test_range_filter_equals_slicing_the_full_series(store):
    src = StoreSource(store)
    full = src.bars("SYN0003")
    for start, end in [("2019-03-01", "2019-06-28"), ("2019-03-02", "2019-03-03"), (None, "2019-01-04"),
                       ("2020-12-31", None), ("2030-01-01", None)]:
        got = src.bars("SYN0003", start=start, end=end)
        lo, hi = pd.Timestamp(start or "1900-01-01"), pd.Timestamp(end or "2100-01-01")
        want = full.loc[(full.index >= lo) & (full.index <= hi)]
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(src.bars("SYN0003", "2019-03-02", "2019-03-03")) == 0          # a weekend


def test_lookup_is_case_insensitive_and_missing_ticker_is_not_found(store):
    src = StoreSource(store)
    pd.testing.assert_frame_equal(src.bars("syn0000"), src.bars("SYN0000"))
    assert len(src.bars("BRK.B")) == 2                                       # as the CSV folder maps it
    with pytest.raises(TickerNotFoundError, match="NOPE"):
        src.bars("NOPE")
    d = src.describe()
    assert d["source"] == "store" and set(d["files_sha256"]) == {"SYN0000", "BRK-B"}
    assert d["inputs_sha256"] == json.loads((store / "manifest.json").read_text())["inputs_sha256"]


def _bad_folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "GOOD.csv").write_text("date,close,volume\n2024-01-02,10,100\n2024-01-03,11,120\n")
    (d / "BAD.csv").write_text("date,close,volume\n2024-01-02,10,100\n2024-01-03,abc,100\n")
    (d / "WORSE.csv").write_text("date,open\n2024-01-02,1\n")
    return d


def test_bad_files_fail_the_build_naming_file_row_field_and_write_nothing(tmp_path):
    d = _bad_folder(tmp_path)
    with pytest.raises(PriceFileError) as info:
        build_store(d, tmp_path / "s")
    msg = str(info.value)
    assert "BAD.csv, row 2, field 'close': not a number: 'abc'" in msg and "WORSE.csv" in msg
    assert not (tmp_path / "s").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in"]                      # no temporary folder left


def test_skip_bad_lists_problems_and_the_ticker_reports_them(tmp_path):
    d = _bad_folder(tmp_path)
    rep = build_store(d, tmp_path / "s", skip_bad=True)
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert m["n_tickers"] == 1 and m["n_skipped"] == 2 and {s["ticker"] for s in m["skipped"]} == {"BAD", "WORSE"}
    assert any("row 2, field 'close'" in p for s in m["skipped"] for p in s["problems"])
    assert len(rep.skipped) == 2
    src = StoreSource(tmp_path / "s")
    assert src.tickers() == ["GOOD"]
    with pytest.raises(PriceFileError, match=r"BAD.csv, row 2, field 'close'"):
        src.bars("BAD")


def test_a_header_only_file_is_an_empty_series_as_from_the_csv(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "EMPTY.csv").write_text("date,close,volume\n")
    (d / "ONE.csv").write_text("date,close,volume\n2024-01-02,10,100\n")
    build_store(d, tmp_path / "s")
    src = StoreSource(tmp_path / "s")
    for t in ("EMPTY", "ONE"):
        pd.testing.assert_frame_equal(src.bars(t), read_price_csv(d / f"{t}.csv"), check_exact=True)


def test_existing_store_is_kept_unless_overwrite(csv_dir, tmp_path):
    out = tmp_path / "s"
    build_store(csv_dir, out, n_buckets=1)
    with pytest.raises(StoreError, match="already exists"):
        build_store(csv_dir, out)
    build_store(csv_dir, out, n_buckets=2, overwrite=True)
    assert json.loads((out / "manifest.json").read_text())["partitioning"]["n_buckets"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not a price store"):
        build_store(csv_dir, precious, overwrite=True)
    assert (precious / "thesis.txt").read_text() == "keep me"


def test_corrupt_or_partial_store_is_a_clear_error(csv_dir, tmp_path):
    import shutil

    from eventstudy.study import load_prices

    out = tmp_path / "s"
    build_store(csv_dir, out, n_buckets=2)
    b = ticker_bucket("SYN0000", 2)
    part = out / "data" / f"bucket={b:03d}" / "part-0.parquet"
    other = [t for t in StoreSource(out).tickers() if ticker_bucket(t, 2) != b][0]

    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])            # truncated data file
    with pytest.raises(CorruptStoreError) as info:
        StoreSource(out).bars("SYN0000")
    assert isinstance(info.value, SourceFailureError) and info.value.path == str(part) and "rebuild" in str(info.value)
    loaded = load_prices(StoreSource(out), ["SYN0000", other])
    assert loaded.failed["SYN0000"][0] == "source_error" and other in loaded.bars

    part.unlink()                                                               # missing data file
    with pytest.raises(CorruptStoreError, match="missing"):
        StoreSource(out).bars("SYN0000")

    man = json.loads((out / "manifest.json").read_text())                       # manifest disagrees with data
    man["tickers"][other]["rows"] += 1
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(CorruptStoreError, match="manifest says"):
        StoreSource(out).bars(other)

    man = json.loads((out / "manifest.json").read_text())                       # manifest points at another ticker
    same = [t for t in man["tickers"] if man["tickers"][t]["bucket"] == man["tickers"][other]["bucket"]]
    swap = next(t for t in same if t != other)
    man["tickers"][other]["row_group"] = man["tickers"][swap]["row_group"]
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(CorruptStoreError, match=f"row group .* of {other}"):
        StoreSource(out).bars(other)

    (out / "manifest.json").write_text("{ half")
    with pytest.raises(StoreError, match="not valid JSON"):
        StoreSource(out)
    (out / "manifest.json").unlink()                                            # an interrupted build
    with pytest.raises(StoreError, match="manifest.json is missing"):
        StoreSource(out)
    shutil.rmtree(out)
    with pytest.raises(StoreError, match="no such folder"):
        StoreSource(out)


def test_study_through_the_store_equals_the_study_through_the_csv_folder(csv_dir, store):
    from eventstudy import StudySpec, run_study

    bars = {p.stem.upper(): read_price_csv(p) for p in csv_dir.glob("SYN*.csv")}
    events = synthetic_events(bars, 40, seed=3)
    events.loc[0, "ticker"] = "NOPE"                                            # one ticker in neither source
    nope = events.loc[0, "event_id"]
    spec = StudySpec(model="market", benchmark=BENCHMARK, estimation="-150:-11")
    a = run_study(events, str(csv_dir), spec)
    b = run_study(events, StoreSource(store), spec)
    ka, kb = a.events.set_index("event_id"), b.events.set_index("event_id")
    assert (ka["status"] == "ok").sum() == 39 and ka.loc[nope, "status"] == "no_prices"
    assert "NOPE" in ka.loc[nope, "reason"] and "NOPE" in kb.loc[nope, "reason"]
    same = a.events.columns != "reason"
    pd.testing.assert_frame_equal(a.events.loc[:, same], b.events.loc[:, same], check_exact=True)
    assert (ka["reason"].drop(nope) == kb["reason"].drop(nope)).all()
    pd.testing.assert_frame_equal(a.car, b.car, check_exact=True)
    pd.testing.assert_frame_equal(a.ar, b.ar, check_exact=True)
    pd.testing.assert_frame_equal(a.caar, b.caar, check_exact=True)


def test_forked_chunks_read_the_store_and_the_folder_as_one_process(csv_dir, store):
    """Chunks on two forked processes reading a store whose files this process already opened (the
    workers inherit the open files) and a CSV folder whose index is built: the same tables as in-process
    chunks."""
    from eventstudy import StudySpec, run_study
    from eventstudy.engine import fork_available

    if not fork_available():
        pytest.skip("this platform cannot fork")
    bars = {p.stem.upper(): read_price_csv(p) for p in csv_dir.glob("SYN*.csv")}
    events = synthetic_events(bars, 60, seed=4)
    spec = StudySpec(model="market", benchmark=BENCHMARK, estimation="-150:-11")
    for src in (StoreSource(store), str(csv_dir)):
        if isinstance(src, StoreSource):
            src.bars("SYN0001")                                 # files opened here, before the fork
        one = run_study(events, src, spec, chunk_size=15, processes=1)
        two = run_study(events, src, spec, chunk_size=15, processes=2)
        assert one.engine["kind"] == "serial" and two.engine["kind"] == "fork"
        assert (one.events["status"] == "ok").sum() > 50
        for name in ("caar", "aar", "events", "car", "ar"):
            pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), check_exact=True)


def test_cli_build_and_info(csv_dir, tmp_path):
    from eventstudy.cli import app

    runner = CliRunner()
    out = tmp_path / "s"
    r = runner.invoke(app, ["store", "build", str(csv_dir), "--out", str(out), "--buckets", "2"])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(out) and "8 tickers" in r.stderr
    r = runner.invoke(app, ["store", "info", str(out)])
    assert r.exit_code == 0 and "tickers      8" in r.stdout
    r = runner.invoke(app, ["store", "info", str(out), "--ticker", "syn0001", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["rows"] == 520
    r = runner.invoke(app, ["store", "build", str(csv_dir), "--out", str(out)])
    assert r.exit_code == 1 and r.stderr.startswith("error:") and "already exists" in r.stderr

    bad = _bad_folder(tmp_path)
    r = runner.invoke(app, ["store", "build", str(bad), "--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "field 'close'" in r.stderr and "--skip-bad" in r.stderr
    assert not (tmp_path / "b").exists()
    r = runner.invoke(app, ["store", "build", str(bad), "--out", str(tmp_path / "b"), "--skip-bad"])
    assert r.exit_code == 0 and "2 file(s) skipped" in r.stderr and "BAD.csv" in r.stderr
    r = runner.invoke(app, ["store", "info", str(tmp_path / "nothing")])
    assert r.exit_code == 1 and "not a price store" in r.stderr


def test_cli_run_with_store_prices_equals_the_csv_folder(csv_dir, store, tmp_path):
    from eventstudy._errors import PriceSourceError
    from eventstudy.cli import app
    from eventstudy.sources import open_source

    try:
        assert isinstance(open_source(f"store:{store}"), StoreSource)
    except PriceSourceError:
        pytest.skip("open_source does not route 'store:PATH' to StoreSource yet (two lines in sources/__init__.py)")
    bars = {p.stem.upper(): read_price_csv(p) for p in csv_dir.glob("SYN*.csv")}
    events = synthetic_events(bars, 25, seed=5)
    path = tmp_path / "events.csv"
    events.to_csv(path, index=False)
    runner = CliRunner()
    args = ["run", str(path), "--benchmark", BENCHMARK, "--estimation", "-150:-11", "--quiet"]
    a = runner.invoke(app, [*args, "--prices", str(csv_dir), "--out", str(tmp_path / "a")])
    b = runner.invoke(app, [*args, "--prices", f"store:{store}", "--out", str(tmp_path / "b")])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    for f in ("events.csv", "car.csv", "ar.csv", "summary.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
