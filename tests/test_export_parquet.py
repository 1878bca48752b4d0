"""Results folders in parquet (``--format parquet``) and the pyarrow CSV writer.

* CSV bytes: the pyarrow rendering equals the pandas ``to_csv`` rendering byte for byte (random frames
  with every awkward value, and the tables of a real study), and floats read back bit for bit;
* parquet: tables read back equal the in-memory frames exactly, with typed columns, raw text;
* the manifest records the format and the SHA-256 of each file; an edited file is refused;
* ``eventstudy run --format parquet`` on the bundled seed events, then ``plot``, ``report`` and
  ``regress`` on that folder give what they give on the CSV folder of the same run;
* an unknown format is a clear error before anything is written; a parquet write that dies leaves
  the previous folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from eventstudy import _io, run_study
from eventstudy._errors import ResultsFolderError
from eventstudy.cli import app
from eventstudy.export import read_results, result_tables, write_folder, write_results

runner = CliRunner()
STEMS = ("events", "ar", "car", "summary", "aar", "volume")
#: text a spreadsheet would run as a formula, and text that only looks like it (numbers, window labels)
AWKWARD = ["a", "", "x,y", 'q"q', 'say "hi", then', "l\nb", "c\rr", "\r\n", " sp ", "\ttab", "é ü 漢", "=1+1",
           "=HYPERLINK(\"http://x\")", "-1:1", "-5:20", "-0.5", "+x", "+1", "@SUM(A1)", "-", "=", "'=1", "nan", "NA",
           "null", "1e3", "001", "-2+3+cmd|' /C calc'!A0", "\x00nul", "a\u2028b"]


def _random_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """SYNTHETIC frame with every column kind the results tables use, NaN/NaT/None sprinkled in."""
    f = pd.DataFrame({
        "event_id": np.array(rng.choice(AWKWARD, n), dtype=object),
        "rel_day": rng.integers(-300, 300, n),
        "big": rng.integers(-2**62, 2**62, n),
        "u8": rng.integers(0, 255, n).astype(np.uint8),
        "ret": rng.normal(0, 0.02, n),
        "tiny": rng.normal(0, 1, n) * 10.0 ** rng.integers(-320, 300, n),
        "f32": rng.normal(size=n).astype(np.float32),
        "in_stats": rng.random(n) < 0.5,
        "date": pd.to_datetime(rng.integers(-25_000, 80_000, n), unit="D").astype("datetime64[ns]"),
        "day0": pd.to_datetime(rng.integers(0, 20_000, n), unit="D", origin="1990-01-01").astype("datetime64[us]"),
        "window": pd.Series(rng.choice(AWKWARD, n), dtype="str"),
    })
    f.loc[rng.random(n) < 0.1, "ret"] = np.nan
    f.loc[rng.random(n) < 0.02, "ret"] = np.inf
    f.loc[rng.random(n) < 0.02, "ret"] = -np.inf
    f.loc[rng.random(n) < 0.05, "tiny"] = -0.0
    f.loc[rng.random(n) < 0.1, "date"] = pd.NaT
    f.loc[rng.random(n) < 0.1, "event_id"] = None
    f.loc[rng.random(n) < 0.1, "event_id"] = np.nan
    f.loc[rng.random(n) < 0.1, "window"] = None
    return f


# ---- CSV: the pyarrow writer gives pandas' bytes -------------------------------------------------------
#: text without anything the CSV quotes (ids, labels): written by pyarrow.csv unquoted
PLAIN = ["a", "", "SEED-1", "-1:1", "-5:20", "=1+1", "@x", "+1", "-0.5", "nan", "NA", "001", " sp ", "\ttab", "é 漢"]


@pytest.mark.parametrize("seed", range(8))
def test_arrow_csv_bytes_equal_pandas_to_csv_bytes(seed, monkeypatch):
    import pyarrow.csv as pa_csv

    rng = np.random.default_rng(seed)
    frame = _random_frame(rng, int(rng.integers(1, 400)))
    plain = seed % 2 == 0
    if plain:                                                    # both renderings: quoted text or none
        for c in ("event_id", "window"):
            frame[c] = frame[c].map(lambda v: PLAIN[len(str(v)) % len(PLAIN)] if isinstance(v, str) else v)
    frame = frame[list(rng.permutation(frame.columns))]          # any column order
    calls = []
    real = pa_csv.write_csv
    monkeypatch.setattr(pa_csv, "write_csv", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    fast = _io._csv_bytes_arrow(frame)
    assert fast is not None                                      # this frame takes the pyarrow path
    assert bool(calls) == plain
    assert fast == _io._csv_bytes_pandas(frame)
    assert _io.csv_bytes(frame) == fast


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"only": ["=1", "x"]}),                                             # one column
    pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)}),  # no rows
    pd.DataFrame({"a": [1.5, 2.0], "b": np.array(["x", 3], dtype=object)}),           # mixed objects
    pd.DataFrame({"a": [1, 2], "b": pd.Categorical(["-x", "y"])}),                   # categorical
    pd.DataFrame({"a": [1, 2], "b": pd.to_datetime(["2026-01-02", None]).tz_localize("US/Eastern")}),
    pd.DataFrame({"a": [1, 2], "b": pd.array([1, None], dtype="Int64")}),            # nullable ints
    pd.DataFrame({"a": [1, 2], "b": pd.to_timedelta([1, 2], unit="D")}),
])
def test_frames_the_arrow_writer_does_not_take_go_through_pandas(frame):
    assert _io._csv_bytes_arrow(frame) is None
    assert _io.csv_bytes(frame) == _io._csv_bytes_pandas(frame)


def test_bytes_are_not_taken_for_text():
    assert _io._csv_bytes_arrow(pd.DataFrame({"a": [1.5, 2.0], "b": np.array([b"x", b"y"], dtype=object)})) is None


def test_csv_floats_read_back_bit_for_bit_and_only_text_is_neutralised():
    rng = np.random.default_rng(7)
    frame = _random_frame(rng, 500)
    for c in ("event_id", "window"):        # a bare \r (not quoted, as Python's csv writes it) splits lines
        frame[c] = frame[c].str.replace("\r", "", regex=False)
    back = pd.read_csv(io.BytesIO(_io.csv_bytes(frame)), dtype=str, keep_default_na=False)
    for c in ("ret", "tiny"):                # parsed by Python's correctly rounded float()
        want = frame[c].to_numpy()
        got = np.array([float(x) if x != "" else np.nan for x in back[c]])
        assert np.array_equal(np.isnan(want), np.isnan(got))
        ok = ~np.isnan(want)
        assert np.array_equal(want[ok].view(np.int64), got[ok].view(np.int64)), c   # same bits, -0.0 included
    # text columns: a formula start gets ', a number or a window label does not; numbers are never touched
    small = pd.DataFrame({"x": [-0.5, -1e-300, 2.0], "n": [-3, 4, -5], "t": ["-0.5", "-x", "-1:1"],
                          "u": ["=A1", "@b", "ok"]})
    assert _io.csv_bytes(small) == b"x,n,t,u\n-0.5,-3,-0.5,'=A1\n-1e-300,4,'-x,'@b\n2,-5,-1:1,ok\n"


@pytest.fixture(scope="module")
def study(root):
    """The bundled seed events on the bundled prices (market model against XBI), two windows."""
    from eventstudy.events import load_events

    ev = load_events(root / "src" / "eventstudy" / "data" / "events" / "seed_events.csv")
    return run_study(ev, "bundled", windows=("-1:1", "0:5"))


def test_a_study_s_tables_take_the_arrow_writer_with_the_same_bytes(study):
    for name, frame in result_tables(study).items():
        fast = _io._csv_bytes_arrow(frame)
        assert fast is not None, name
        assert fast == _io._csv_bytes_pandas(frame), name


# ---- parquet: typed, exact, raw text -------------------------------------------------------------------
@pytest.fixture(scope="module")
def folders(study, tmp_path_factory):
    base = tmp_path_factory.mktemp("formats")
    study.save(base / "csv", inputs={"prices": "bundled"})
    study.save(base / "pq", format="parquet", inputs={"prices": "bundled"})
    return base / "csv", base / "pq"


def test_parquet_tables_read_back_equal_the_frames_in_memory(study, folders):
    back = read_results(folders[1], tables=STEMS)
    for file, frame in result_tables(study).items():
        got = back.table(file[:-4])
        assert list(got.columns) == list(frame.columns), file
        pd.testing.assert_frame_equal(got, frame, check_dtype=False, check_exact=True, obj=file)
        for c in frame.columns:
            want, have = frame[c].dtype, got[c].dtype
            if want == object or pd.api.types.is_string_dtype(want):
                assert pd.api.types.is_string_dtype(have), (file, c, have)
            else:
                assert have == want, (file, c, have, want)       # float64, int64, bool, datetime64[unit]


def test_parquet_columns_are_typed(folders):
    schema = {s: pq.read_schema(folders[1] / f"{s}.parquet") for s in STEMS}
    ev = schema["events"]
    assert ev.field("event_id").type == pa.string() and ev.field("reason").type == pa.string()
    assert ev.field("event_date").type == pa.date32() and ev.field("day0").type == pa.date32()
    assert ev.field("in_stats").type == pa.bool_() and ev.field("n_est").type == pa.int64()
    assert ev.field("beta").type == pa.float64()
    assert schema["ar"].field("date").type == pa.date32() and schema["ar"].field("rel_day").type == pa.int64()
    assert schema["car"].field("car").type == pa.float64() and schema["car"].field("window").type == pa.string()
    meta = pq.read_metadata(folders[1] / "car.parquet")
    assert meta.row_group(0).column(0).compression.lower() in ("zstd", "snappy")
    # a missing number is null in parquet (an empty cell in the CSV), not a NaN value
    beta = pq.read_table(folders[1] / "events.parquet", columns=["beta"]).column(0)
    assert beta.null_count == int(read_results(folders[0]).events["beta"].isna().sum()) > 0


def test_csv_and_parquet_folders_hold_the_same_numbers(folders):
    a, b = (read_results(d, tables=STEMS) for d in folders)
    for s in STEMS:
        x, y = a.table(s), b.table(s)
        assert list(x.columns) == list(y.columns) and len(x) == len(y), s
        for c in x.columns:
            if pd.api.types.is_float_dtype(x[c]) or pd.api.types.is_float_dtype(y[c]):
                xv, yv = x[c].to_numpy(dtype=float), y[c].to_numpy(dtype=float)
                assert np.array_equal(xv, yv, equal_nan=True), (s, c)   # full-precision CSV: same doubles
            elif pd.api.types.is_datetime64_any_dtype(x[c]):
                assert (x[c].astype("datetime64[ns]").fillna(pd.Timestamp(0))
                        == y[c].astype("datetime64[ns]").fillna(pd.Timestamp(0))).all(), (s, c)
            else:
                assert x[c].astype(str).tolist() == y[c].astype(str).tolist(), (s, c)


def test_parquet_keeps_raw_text_and_csv_neutralises_it(tmp_path, root):
    ev = pd.read_csv(root / "events" / "seed_events.csv", dtype=str, keep_default_na=False)
    ev = ev[ev["ticker"].isin(["IBRX", "GMAB"])].copy()
    ev.loc[ev.index[0], "headline"] = "=HYPERLINK(\"http://x\",\"click\")"
    ev.loc[ev.index[1], "headline"] = "-2+3+cmd|' /C calc'!A0"
    ev.loc[ev.index[2], "event_id"] = "@SUM(1)"
    res = run_study(ev, "bundled", windows=("-1:1",))
    res.save(tmp_path / "c")
    res.save(tmp_path / "p", format="parquet")
    for d, prefix in ((tmp_path / "c", "'"), (tmp_path / "p", "")):
        back = read_results(d)
        heads = dict(zip(back.events["event_id"], back.events["headline"]))
        assert heads[ev["event_id"].iloc[0]] == prefix + "=HYPERLINK(\"http://x\",\"click\")"
        assert heads[ev["event_id"].iloc[1]] == prefix + "-2+3+cmd|' /C calc'!A0"
        assert prefix + "@SUM(1)" in set(back.car["event_id"])
        assert "-1:1" in set(back.car["window"])                 # a window label is never neutralised
    raw = pq.read_table(tmp_path / "p" / "events.parquet", columns=["headline"]).column(0).to_pylist()
    assert "=HYPERLINK(\"http://x\",\"click\")" in raw


# ---- manifest ---------------------------------------------------------------------------------------
def test_manifest_records_format_and_each_file_hash(folders):
    for d, fmt in zip(folders, ("csv", "parquet")):
        m = json.loads((d / "manifest.json").read_text())
        assert m["format"] == fmt
        assert sorted(m["files"]) == sorted(f"{s}.{fmt}" for s in STEMS)
        for f, meta in m["files"].items():
            data = (d / f).read_bytes()
            assert meta == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        assert sorted(os.listdir(d)) == sorted([*m["files"], "manifest.json"])
        assert read_results(d).format == fmt
    assert read_results(folders[0]).run_id != read_results(folders[1]).run_id


def test_same_study_gives_byte_identical_parquet_and_run_id(study, folders, tmp_path):
    study.save(tmp_path / "again", format="parquet", inputs={"prices": "bundled"})
    for s in STEMS:
        assert (tmp_path / "again" / f"{s}.parquet").read_bytes() == (folders[1] / f"{s}.parquet").read_bytes(), s
    assert read_results(tmp_path / "again").run_id == read_results(folders[1]).run_id


def _rewrite_parquet(path: Path) -> None:
    """A valid parquet file with one value changed: what an edit with pandas/pyarrow would leave."""
    t = pq.read_table(path)
    car = t.column("car").to_pylist()
    car[0] = car[0] + 0.01
    pq.write_table(t.set_column(t.schema.get_field_index("car"), "car", pa.array(car, pa.float64())), path,
                   compression="zstd")


@pytest.mark.parametrize("damage,needle", [
    (lambda d: _rewrite_parquet(d / "car.parquet"), "car.parquet does not match"),
    (lambda d: (d / "ar.parquet").write_bytes((d / "ar.parquet").read_bytes()[:-100]), "ar.parquet does not match"),
    (lambda d: (d / "aar.parquet").unlink(), "aar.parquet is missing"),
    (lambda d: shutil.copy(d / "car.parquet", d / "car.csv"), "car.csv is not part of this run"),
])
def test_an_edited_parquet_folder_is_refused(folders, tmp_path, damage, needle):
    d = tmp_path / "d"
    shutil.copytree(folders[1], d)
    damage(d)
    with pytest.raises(ResultsFolderError, match=re.escape(needle)):
        read_results(d, tables=STEMS)
    r = runner.invoke(app, ["report", str(d)])
    assert r.exit_code == 1 and needle in r.output and "Traceback" not in r.output
    assert not (d / "report.html").exists()


def test_a_table_is_found_by_its_name_in_either_format(folders):
    for d in folders:
        res = read_results(d)
        pd.testing.assert_frame_equal(res.table("car.csv"), res.car)
        pd.testing.assert_frame_equal(res.table("car.parquet"), res.car)
        with pytest.raises(ResultsFolderError, match="has no bhar table"):
            res.table("bhar")


# ---- unknown formats, atomic writes -----------------------------------------------------------------
def test_an_unknown_format_is_a_clear_error_before_anything_is_written(study, tmp_path, root):
    for bad in ("xlsx", "feather", ""):
        with pytest.raises(ValueError, match=f"unknown results format {re.escape(repr(bad))}.*'csv'.*'parquet'"):
            study.save(tmp_path / "api", format=bad)
        with pytest.raises(ValueError, match="unknown results format"):
            write_results(study, tmp_path / "api", {}, format=bad)
    assert not (tmp_path / "api").exists()
    r = runner.invoke(app, ["run", str(root / "events" / "seed_events.csv"), "--format", "xlsx",
                            "--out", str(tmp_path / "cli")])
    assert r.exit_code == 2, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "'xlsx'" in errors[0] and "parquet" in r.output
    assert not (tmp_path / "cli").exists()


def test_format_is_case_insensitive(study, tmp_path):
    study.save(tmp_path / "p", format="Parquet")
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["format"] == "parquet"


def test_a_parquet_write_that_dies_midway_leaves_the_previous_csv_run(study, folders, tmp_path, monkeypatch):
    out = tmp_path / "s"
    shutil.copytree(folders[0], out)
    before = {f: (out / f).read_bytes() for f in os.listdir(out)}
    import eventstudy.export as export

    real, calls = export.parquet_bytes, []

    def dying(frame, name="table.parquet"):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(frame, name)

    monkeypatch.setattr(export, "parquet_bytes", dying)
    with pytest.raises(KeyboardInterrupt):
        study.save(out, format="parquet")
    assert {f: (out / f).read_bytes() for f in os.listdir(out)} == before
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".s.")]
    monkeypatch.undo()
    study.save(out, format="parquet")                 # and a complete write replaces the CSV run whole
    assert sorted(os.listdir(out)) == sorted([f"{s}.parquet" for s in STEMS] + ["manifest.json"])
    assert read_results(out).format == "parquet"


def test_write_folder_takes_table_names_of_either_format(study, tmp_path):
    tables = {k.replace(".csv", ""): v for k, v in result_tables(study).items()}
    head = {"study": "x", "run_id": "", "created_utc": "", "inputs": {}, "options": {}, "data": {}, "notes": []}
    write_folder(tmp_path / "p", tables, head, format="parquet")
    write_folder(tmp_path / "c", tables, head)
    assert sorted(os.listdir(tmp_path / "p")) == sorted([f"{s}.parquet" for s in STEMS] + ["manifest.json"])
    assert sorted(os.listdir(tmp_path / "c")) == sorted([f"{s}.csv" for s in STEMS] + ["manifest.json"])
    with pytest.raises(ValueError, match="same file"):
        write_folder(tmp_path / "x", {"car.csv": study.car, "car": study.car}, head, format="parquet")


# ---- the commands on a parquet folder ---------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_folders(root, tmp_path_factory):
    """``eventstudy run`` of the bundled seed events, once per format, the same options."""
    base = tmp_path_factory.mktemp("cli")
    events = root / "src" / "eventstudy" / "data" / "events" / "seed_events.csv"
    outs = []
    for fmt in ("csv", "parquet"):
        r = runner.invoke(app, ["run", str(events), "--out", str(base / fmt), "--format", fmt, "--excel",
                                "--window", "-1:1", "--window", "0:5"])
        assert r.exit_code == 0, r.output
        assert f"car.{fmt}" in r.output and "results.xlsx" in r.output
        outs.append(base / fmt)
    return tuple(outs)


def test_cli_run_format_parquet_writes_parquet_tables(cli_folders):
    d = cli_folders[1]
    assert sorted(p.name for p in d.iterdir()) == sorted([f"{s}.parquet" for s in STEMS]
                                                         + ["manifest.json", "results.xlsx"])
    assert json.loads((d / "manifest.json").read_text())["format"] == "parquet"
    # the workbook is written from the same study: its car sheet holds the parquet table's numbers
    xl = pd.read_excel(d / "results.xlsx", sheet_name="car", dtype={"event_id": str, "window": str})
    car = read_results(d).car
    assert xl["event_id"].tolist() == car["event_id"].tolist()
    assert np.allclose(xl["car"].to_numpy(dtype=float), car["car"].to_numpy(), rtol=0, atol=1e-15, equal_nan=True)


def test_report_on_a_parquet_folder_shows_what_it_shows_for_csv(cli_folders, tmp_path):
    pages = []
    for d in cli_folders:
        r = runner.invoke(app, ["plot", str(d), "--max-events", "2"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["report", str(d)])
        assert r.exit_code == 0, r.output
        html = (d / "report.html").read_text()
        assert f'content="{read_results(d).run_id}"' in html and "Figures not shown" not in html
        pages.append(html)
    # the tables of the report (per-type statistics, studied events, not studied) are the same
    cut = [p.split("<h2>Per-type results</h2>")[1].split("<h2>Figures</h2>")[0] for p in pages]
    assert cut[0] == cut[1]
    cut = [p.split("<h2>Studied events</h2>")[1].split("<h2>Event charts</h2>")[0] for p in pages]
    assert cut[0] == cut[1]
    # and the values in it are the study's: CAR of each studied event in -1:1, in percent (by hand)
    car = read_results(cli_folders[1]).car
    studied = pages[1].split("<h2>Studied events</h2>")[1].split("<h2>")[0]
    for _, r in car[car["window"] == "-1:1"].iterrows():
        if np.isfinite(r["car"]):
            assert f">{100 * r['car']:.2f}</td>" in studied


def test_plot_on_a_parquet_folder_draws_the_same_figures(cli_folders):
    for d in cli_folders:
        if not (d / "figures").is_dir():
            assert runner.invoke(app, ["plot", str(d), "--max-events", "2"]).exit_code == 0
    idx = [json.loads((d / "figures" / "figures.json").read_text()) for d in cli_folders]
    assert idx[1]["run_id"] == read_results(cli_folders[1]).run_id
    assert [f["file"] for f in idx[0]["figures"]] == [f["file"] for f in idx[1]["figures"]]
    for f in ("caar.png", "abnormal_volume.png"):
        assert (cli_folders[0] / "figures" / f).read_bytes() == (cli_folders[1] / "figures" / f).read_bytes(), f


def test_regress_on_a_parquet_folder(cli_folders, tmp_path):
    from eventstudy.regress import regress

    fits = [regress(d, "car ~ 1", window="-1:1", cov="classical") for d in cli_folders]
    pd.testing.assert_frame_equal(fits[0].tidy, fits[1].tidy)
    # the intercept of car ~ 1 is the mean CAR of the events in the statistics, its classical se s/sqrt(n)
    ev, car = (read_results(cli_folders[1]).table(t) for t in ("events", "car"))
    ok = set(ev.loc[(ev["status"] == "ok") & ev["in_stats"], "event_id"])
    y = car[(car["window"] == "-1:1") & car["event_id"].isin(ok)]["car"].dropna().to_numpy()
    row = fits[1].tidy.set_index("term").loc["Intercept"]
    assert row["coef"] == pytest.approx(y.mean(), rel=1e-12)
    assert row["se"] == pytest.approx(y.std(ddof=1) / np.sqrt(len(y)), rel=1e-10)
    out = tmp_path / "regress.csv"
    r = runner.invoke(app, ["regress", str(cli_folders[1]), "car ~ C(event_type)", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Intercept" in r.output and out.is_file()


def test_parquet_bytes_of_columns_results_tables_rarely_hold():
    from eventstudy.export import parquet_bytes, read_table

    frame = pd.DataFrame({
        "mixed": np.array(["x", 3, None, 1.5], dtype=object),        # stored as the text the CSV holds
        "ints": np.array([1, 2, 3, 4], dtype=object),                 # inferred: int64
        "empty": np.array([None, None, None, None], dtype=object),    # all missing: a string column
        "stamp": pd.to_datetime(["2026-01-02 09:30", None, "2026-01-05 00:00", "2026-01-06 00:00"]),   # a time of day
        "day": pd.to_datetime(["2026-01-02", None, "2026-01-05", "1969-12-31"]).astype("datetime64[s]"),
        "cat": pd.Categorical(["a", "b", "a", None]),
    })
    data = parquet_bytes(frame, "odd.parquet")
    schema = pq.read_schema(pa.BufferReader(data))
    assert schema.field("mixed").type == pa.string() and schema.field("ints").type == pa.int64()
    assert schema.field("empty").type == pa.string() and schema.field("day").type == pa.date32()
    assert pa.types.is_timestamp(schema.field("stamp").type)
    back = read_table(data, "odd.parquet")
    assert back["mixed"].tolist()[:2] == ["x", "3"] and pd.isna(back["mixed"][2]) and back["mixed"][3] == "1.5"
    assert back["ints"].tolist() == [1, 2, 3, 4] and back["empty"].isna().all()
    pd.testing.assert_series_equal(back["stamp"], frame["stamp"])
    pd.testing.assert_series_equal(back["day"], frame["day"])          # the unit (seconds) comes back too
    assert back["cat"].astype(object).tolist()[:3] == ["a", "b", "a"] and pd.isna(back["cat"][3])
    with pytest.raises(ValueError, match="unique"):
        parquet_bytes(pd.DataFrame([[1, 2]], columns=["a", "a"]), "dup.parquet")
