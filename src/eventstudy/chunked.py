"""Chunked, out-of-core and distributed studies.

The events are split into chunks of about ``chunk_size`` events, grouped by (price) ticker so that each
price series is read by one chunk and every rule that compares events (overlaps, duplicates: same
ticker) sees all the events it needs. Each chunk runs the in-memory study
(:func:`eventstudy.study.study_events`) and is reduced to sufficient statistics
(:func:`eventstudy.suffstats.reduce_chunk`); the reductions are merged and a second pass computes the
generalized rank test, whose inputs depend on the merged group's cross-sectional s.d.
(:func:`eventstudy.suffstats.grank_chunk`). The tables are then built from the merged statistics by
the same code as an in-memory study, so the numbers are the same (to ~1e-15 relative: sums are added
in another order; ``tests/test_chunked.py`` checks 1e-12).

Where the chunks run is the executor's business (:mod:`eventstudy.engine`): in this process (the
estimation-window inputs of the second pass are then spilled to a temporary folder, so memory is
bounded by one chunk plus the compact per-event values), on a local Dask cluster (``workers``), or on
an existing one (``scheduler``), where each chunk's data stays on the worker that computed it.

Not available in chunks: ``conventions="estudy2"`` with the market model (estudy2's market term pools
the benchmark over all events of the study; refused with a clear error).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventStudyError
from .suffstats import ChunkStats, finish, grank_chunk, grank_scales, merge, study_jit, use_jit

#: default chunk size of ``run_study(chunk_size=...)`` / ``--chunk-size`` when only workers are given
DEFAULT_CHUNK = 4000


@dataclass
class ChunkPart:
    """What one chunk returns: its events table, its reduction, its long frames (optional), the parts of
    the study notes, its metadata and the hash of the prices it used."""

    index: int
    rows: np.ndarray
    table: pd.DataFrame
    stats: ChunkStats
    frames: dict[str, pd.DataFrame] | None
    note_parts: dict
    meta: dict
    ok_rows: np.ndarray | None = None     # canonical rows of the studied events, in the frames' order


@dataclass
class ChunkItem:
    """One chunk's task input: its index, the canonical rows of its events, and those events."""

    index: int
    rows: np.ndarray
    events: pd.DataFrame

    @property
    def label(self) -> str:
        """How errors name the chunk: its tickers (first and last) and size."""
        t = sorted(set(self.events["ticker"].astype(str)))
        span = t[0] if len(t) == 1 else f"{t[0]}…{t[-1]}" if t else "no ticker"
        return f"chunk {self.index}: {len(self.events)} events, {span}"


def plan_chunks(ev: pd.DataFrame, spec, chunk_size: int) -> list[np.ndarray]:
    """Row indices of each chunk: tickers (after renames) in sorted order, whole tickers packed greedily
    into chunks of at most ``chunk_size`` events (a ticker with more events is a chunk of its own)."""
    if chunk_size < 1:
        raise EventStudyError(f"chunk size {chunk_size}: must be at least 1")
    tick = ev["ticker"].replace(dict(spec.rename)) if spec.rename else ev["ticker"]
    codes, uniq = pd.factorize(tick.fillna("").astype(str), sort=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniq))
    chunks, cur, size = [], [], 0
    starts = np.r_[0, np.cumsum(counts)]
    for k, c in enumerate(counts):
        if size and size + c > chunk_size:
            chunks.append(np.sort(np.concatenate(cur)))
            cur, size = [], 0
        cur.append(order[starts[k]:starts[k + 1]])
        size += c
    if cur:
        chunks.append(np.sort(np.concatenate(cur)))
    return chunks


def _run_chunk(item: ChunkItem, prices, spec, fac, keep_frames: bool, spill: str | None, jit: bool) -> ChunkPart:
    """One chunk, start to finish (runs on a worker): open the prices, study, reduce."""
    from .sources import open_source
    from .study import study_events

    index, rows, ev = item.index, item.rows, item.events
    source = prices if not isinstance(prices, str) else open_source(prices)
    res = study_events(ev, source, spec, fac, jit=jit)
    cs = res.chunk_stats(rows=rows, day0_global=res.day0_global, jit=jit)
    frames = {"car": res.car, "ar": res.ar, "volume": res.volume} if keep_frames else None
    if spill is not None:
        base = Path(spill) / f"chunk{index:06d}"
        np.save(f"{base}_sar.npy", cs.sar_est)
        np.save(f"{base}_rank.npy", cs.est_ranks)
        np.save(f"{base}_day.npy", cs.sar_span)
        cs = replace(cs, sar_est=f"{base}_sar.npy", est_ranks=f"{base}_rank.npy", sar_span=f"{base}_day.npy")
    return ChunkPart(index, np.asarray(rows), res.events, cs, frames, res.note_parts, res.meta,
                     np.asarray(rows)[res.ok])


def _light(part: ChunkPart) -> ChunkPart:
    """The part without the second-pass inputs (what travels back to the caller)."""
    return replace(part, stats=replace(part.stats, sar_est=None, est_ranks=None, sar_span=None))


def _grank(part: ChunkPart, scales: dict, jit: bool) -> dict:
    cs = part.stats
    if isinstance(cs.sar_est, str):
        cs = replace(cs, sar_est=np.load(cs.sar_est), est_ranks=np.load(cs.est_ranks), sar_span=np.load(cs.sar_span))
    return grank_chunk(cs, scales, jit)


def run_chunked(ev: pd.DataFrame, prices, spec, fac: pd.DataFrame | None, *, chunk_size: int | None = None,
                workers: int | None = None, scheduler: str | None = None, keep_frames: bool = True,
                progress: Callable[[str], None] | None = None, processes: int | None = None):
    """Run a loaded, canonically ordered event table in chunks (module docstring); returns
    :class:`~eventstudy.results.EventStudyResults` without the panel (its statistics, events and, with
    ``keep_frames``, the long frames).

    ``processes``: without ``workers``/``scheduler``, run the chunks on this many processes forked from
    this one (:class:`~eventstudy.engine.ForkExecutor`); default: one per CPU when the price source is
    local (``fork_safe``: in memory, a folder, a store, bundled data) and there are several chunks, else
    in this process. The numbers do not depend on it."""
    from .engine import open_executor
    from .results import EventStudyResults
    from .study import study_notes

    if getattr(spec, "conventions", "papers") == "estudy2" and spec.model == "market":
        raise EventStudyError("conventions=estudy2 with the market model pools the benchmark over every event of "
                              "the study, which a chunked study cannot do: run it without --chunk-size/--workers/"
                              "--scheduler, or use conventions=papers")
    chunks = plan_chunks(ev, spec, chunk_size or DEFAULT_CHUNK)
    serial = workers is None and scheduler is None
    if isinstance(prices, str):
        from .sources import open_source

        source = open_source(prices)        # a wrong spec fails here, once, with the source's own message
        # in this process every chunk shares the one source (one folder index, one Yahoo session with its
        # fail-fast count and deadline); workers open their own from the spec, with an absolute path
        prices = source if serial else _absolute_spec(prices)
    items = [ChunkItem(k, rows, ev.iloc[rows]) for k, rows in enumerate(chunks)]
    if processes is not None and (isinstance(processes, bool) or not isinstance(processes, int) or processes < 1):
        raise EventStudyError(f"processes must be a whole number >= 1, got {processes!r}")
    if processes is not None and processes > 1 and not serial:
        raise EventStudyError(f"processes={processes} runs the chunks on this machine; it cannot be combined with "
                              "workers or scheduler (a Dask cluster)")
    if processes is None:
        processes = (os.cpu_count() or 1) if serial and getattr(prices, "fork_safe", False) else 1
    processes = max(1, min(int(processes), len(items)))
    if progress:
        progress(f"{len(ev)} events in {len(chunks)} chunk(s)")
    with tempfile.TemporaryDirectory(prefix="eventstudy-chunks-") as tmp, \
            open_executor(workers=workers, scheduler=scheduler, processes=processes) as ex:
        jit = study_jit(len(ev), spec.estimation[1] - spec.estimation[0] + 1, len(spec.windows) + spec.span[1] - spec.span[0] + 1)
        if jit and processes > 1:
            from ._kernels import warm_up

            warm_up()                          # once here, not once per forked process
        handles = ex.submit_all(_run_chunk, items, prices, spec, fac, keep_frames, tmp if serial else None, jit)
        parts = ex.gather(ex.map_on(_light, handles)) if not serial else [_light(h) for h in handles]
        st = merge([p.stats for p in parts])
        scales = grank_scales(st)
        finish(st, ex.gather(ex.map_on(_grank, handles, scales, use_jit(st))))
        ex.release(handles)
        del handles
        engine = ex.describe()
    for p in parts:
        p.stats = None                         # merged into st: free the chunks' copies

    rows = np.concatenate([p.rows for p in parts])
    order = np.argsort(rows, kind="stable")
    tables = [p.table for p in parts]
    for p in parts:
        p.table = None
    table = pd.concat(tables, ignore_index=True)
    del tables
    table = table.take(order).reset_index(drop=True)
    note_parts = _merge_note_parts([p.note_parts for p in parts])
    notes = study_notes(ev, spec, note_parts)
    meta0 = parts[0].meta
    status = table["status"].to_numpy()
    ok = status == "ok"
    in_stats = table["in_stats"].to_numpy(bool)
    meta = {"source": _merge_sources([p.meta["source"] for p in parts]), "n_events": len(ev), "n_ok": int(ok.sum()), "n_in_stats": int(in_stats.sum()),
            "n_source_errors": int((status == "source_error").sum()),
            "price_sha256": hashlib.sha256("".join(p.meta["price_sha256"] for p in parts).encode()).hexdigest(),
            "chunks": {"chunk_size": chunk_size or DEFAULT_CHUNK, "n_chunks": len(parts),
                       "price_sha256": "SHA-256 of the chunks' price hashes, in chunk order"}}
    if "factors" in meta0:
        meta["factors"] = meta0["factors"]
        f = meta0["factors"]
        notes.append(f"factor data {f['first']} to {f['last']}, units: {f['units']}")
    notes.append(f"computed in {len(parts)} chunk(s) of about {chunk_size or DEFAULT_CHUNK} events (whole tickers); "
                 "statistics merged from per-chunk sufficient statistics (docs/scale.md)")
    res = EventStudyResults(spec=spec, events=table, panel=None, fit=None, expected=None, ar=None, windows=None,
                            ok=ok, in_stats=in_stats, notes=notes, meta=meta, volume=None)
    res._stats = st
    res.engine = engine          # where it ran (kept out of the manifest's run id: the answer does not depend on it)
    res._frames = _merge_frames([p.frames for p in parts], [p.ok_rows for p in parts]) if keep_frames else None
    return res


def _absolute_spec(prices: str) -> str:
    """A price spec naming a local path, made absolute (``store:PATH`` or a folder); other specs unchanged."""
    kind, sep, rest = prices.partition(":")
    if sep and kind == "store":
        return f"store:{Path(rest).expanduser().resolve()}"
    p = Path(prices).expanduser()
    return str(p.resolve()) if p.exists() else prices


def _merge_sources(descs: list[dict]) -> dict:
    """The price source's provenance over all chunks: each chunk describes the files or tickers it read
    (``files_sha256``, ``tickers``…), so mappings are united (sorted by key); other entries come from the
    first chunk and must agree (a difference is recorded, never dropped)."""
    out: dict = {}
    for d in descs:
        for k, v in (d or {}).items():
            if isinstance(v, dict):
                out.setdefault(k, {}).update(v)
            elif k not in out:
                out[k] = v
            elif out[k] != v:
                out.setdefault("differs_between_chunks", {}).setdefault(k, sorted({str(out[k]), str(v)}))
    return {k: (dict(sorted(v.items())) if isinstance(v, dict) and k != "differs_between_chunks" else v)
            for k, v in out.items()}


def _merge_note_parts(parts: list[dict]) -> dict:
    keys = sorted(set().union(*(p["counts"] for p in parts)))
    counts = {k: np.concatenate([p["counts"].get(k, np.zeros(len(p["status"]), np.int64)) for p in parts])
              for k in keys}
    taken: dict[str, int] = {}
    for p in parts:
        for k, v in p["taken"].items():
            taken[k] = taken.get(k, 0) + v
    flags: dict = {}
    for p in parts:
        flags.update(p["flags"])
    return {"status": np.concatenate([p["status"] for p in parts]), "counts": counts,
            "in_stats": np.concatenate([p["in_stats"] for p in parts]), "taken": taken, "flags": flags,
            "no_bench_volume": any(p["no_bench_volume"] for p in parts)}


def _merge_frames(frames: list[dict], ok_rows: list[np.ndarray]) -> dict[str, pd.DataFrame]:
    """Concatenate the chunks' long frames in the in-memory study's row order: ``ar``/``volume`` event by
    event (canonical order) then day; ``car`` window by window, then event. Each chunk's frames hold
    its studied events in chunk order (``ok_rows``: their canonical rows), a fixed number of rows per
    event (days) or per window, so the order is a permutation of integer blocks, never a string sort."""
    rows = np.concatenate(ok_rows)
    event_order = np.argsort(rows, kind="stable")       # concatenated studied events -> canonical order
    n = len(rows)
    out = {}
    for name in ("ar", "volume"):
        df = pd.concat([f[name] for f in frames], ignore_index=True)
        per = len(df) // n if n else 0                   # event-span days per event
        perm = (event_order[:, None] * per + np.arange(per)[None, :]).ravel()
        out[name] = df.take(perm).reset_index(drop=True)
    parts = [f["car"] for f in frames]
    df = pd.concat(parts, ignore_index=True)
    n_w = len(df) // n if n else 0                       # windows
    # row (chunk k, window w, event j) -> key (w, canonical position of the event)
    pos = np.empty(n, np.int64)
    pos[event_order] = np.arange(n)
    wkey, ekey, start = [], [], 0
    for r in ok_rows:
        m = len(r)
        wkey.append(np.repeat(np.arange(n_w), m))
        ekey.append(np.tile(pos[start:start + m], n_w))
        start += m
    key = np.lexsort((np.concatenate(ekey), np.concatenate(wkey))) if n else np.zeros(0, np.int64)
    out["car"] = df.take(key).reset_index(drop=True)
    return out
