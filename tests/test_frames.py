"""The long frames rendered from arrays (eventstudy.frames), against frames built the slow way by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.frames import AR_COLUMNS, CAR_COLUMNS, VOLUME_COLUMNS, FrameArrays, render

WINDOWS = ((-1, 1), (0, 5))
REL = np.arange(-2, 4)


def _arrays(rng: np.random.Generator, ids: list[str]) -> FrameArrays:
    """SYNTHETIC frame values of ``ids`` (NaN and NaT sprinkled in)."""
    n, D, W = len(ids), len(REL), len(WINDOWS)
    day = {c: np.where(rng.random((n, D)) < 0.1, np.nan, rng.normal(size=(n, D))) for c in AR_COLUMNS + VOLUME_COLUMNS}
    dates = (np.datetime64("2021-03-01") + rng.integers(0, 400, (n, D)).astype("timedelta64[D]")).astype("datetime64[ns]")
    dates[rng.random((n, D)) < 0.05] = np.datetime64("NaT")
    win = {c: rng.normal(size=(n, W)) for c in CAR_COLUMNS}
    win["n_days"] = rng.integers(0, 7, (n, W))
    win["n_missing"] = rng.integers(0, 2, (n, W))
    return FrameArrays(np.array(ids, dtype=object), REL, dates, day, WINDOWS, win)


def _slow(fa: FrameArrays, name: str) -> pd.DataFrame:
    """The frame written out row by row."""
    rows = []
    if name == "car":
        for w, (a, b) in enumerate(fa.windows):
            for i, eid in enumerate(fa.ids):
                rows.append({"event_id": eid, "window": f"{a}:{b}", "win_start": a, "win_end": b,
                             **{c: fa.win[c][i, w] for c in CAR_COLUMNS}})
    else:
        cols = AR_COLUMNS if name == "ar" else VOLUME_COLUMNS
        for i, eid in enumerate(fa.ids):
            for d, rel in enumerate(fa.rel):
                rows.append({"event_id": eid, "rel_day": rel, "date": fa.dates[i, d],
                             **{c: fa.day[c][i, d] for c in cols}})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", ["ar", "car", "volume"])
def test_render_equals_the_frame_written_row_by_row(name):
    fa = _arrays(np.random.default_rng(1), [f"E{i}" for i in range(7)])
    got, want = render(fa, name), _slow(fa, name)
    assert list(got.columns) == list(want.columns)
    assert isinstance(got["event_id"].dtype, pd.StringDtype)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
    assert got["date" if name != "car" else "win_start"].dtype.kind in "Mi"


def test_concat_then_take_equals_rendering_each_part_and_sorting():
    """Chunks' arrays (one chunk with no studied event) merged in canonical order: the rendered frames are
    the chunks' rendered frames concatenated and sorted by canonical event (car: by window, then event)."""
    rng = np.random.default_rng(2)
    owner = rng.integers(0, 3, 25)
    owner[owner == 2] = 1                                   # chunk 2 studies nothing
    rows = [np.flatnonzero(owner == k) for k in range(3)]
    parts = [_arrays(rng, [f"E{r:03d}" for r in rk]) for rk in rows]
    flat = np.concatenate(rows)
    merged = FrameArrays.concat(parts).take(np.argsort(flat, kind="stable"))
    for name in ("ar", "volume"):
        slow = pd.concat([render(p, name) for p in parts], ignore_index=True)
        slow = slow.sort_values("event_id", kind="stable").reset_index(drop=True)   # ids sort as rows here
        pd.testing.assert_frame_equal(render(merged, name), slow, check_exact=True)
    slow = pd.concat([render(p, "car") for p in parts], ignore_index=True)
    slow = slow.sort_values(["win_start", "event_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(render(merged, "car"), slow, check_exact=True)


def test_empty_frames_keep_their_column_types():
    fa = _arrays(np.random.default_rng(3), [])
    for name in ("ar", "car", "volume"):
        df = render(fa, name)
        assert len(df) == 0 and isinstance(df["event_id"].dtype, pd.StringDtype)
    assert isinstance(render(fa, "car")["window"].dtype, pd.StringDtype)


def test_concat_refuses_different_spans_and_unknown_frames():
    rng = np.random.default_rng(4)
    a, b = _arrays(rng, ["A"]), _arrays(rng, ["B"])
    b.rel = b.rel + 1
    with pytest.raises(ValueError, match="event spans"):
        FrameArrays.concat([a, b])
    with pytest.raises(ValueError, match="unknown frame"):
        render(a, "aar")
