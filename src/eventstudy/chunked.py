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

Given a results folder (``run_study(out=...)``, ``eventstudy run``), a chunked study streams it
(:mod:`eventstudy.stream`): the chunks' events tables and frames go to disk as the chunks finish and
the folder is written block by block in canonical order, so the client never holds them; the merged
per-event statistics are memory-mapped files for big studies (:meth:`~eventstudy.suffstats.EventStats.assemble`).

Not available in chunks: ``conventions="estudy2"`` with the market model (estudy2's market term pools
the benchmark over all events of the study; refused with a clear error).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventStudyError
from ._kernels import rank_codes
from .frames import FrameArrays
from .suffstats import ChunkStats, EventStats, finish, grank_chunk, grank_scales, merge, study_jit, use_jit

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
    frames: FrameArrays | None            # the values of its long frames (eventstudy.frames)
    note_parts: dict
    meta: dict
    ok_rows: np.ndarray | None = None     # canonical rows of the studied events, in the frames' order
    spill: dict | None = None             # streamed: the spilled tables (eventstudy.stream.TableSpill)


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


class _Items(Sequence):
    """The chunks' task inputs, each made when it is read: in this process only the running chunk's events
    are copied out of the study's table (a Dask executor lists them all to send them)."""

    def __init__(self, ev: pd.DataFrame, chunks: list[np.ndarray]):
        self.ev, self.chunks = ev, chunks

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        k = range(len(self.chunks))[k]             # IndexError past the end (ends iteration)
        return ChunkItem(k, self.chunks[k], self.ev.iloc[self.chunks[k]])


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


def _run_chunk(item: ChunkItem, prices, spec, fac, keep_frames: bool, spill: str | None, jit: bool,
               stream=None, forked: bool = False) -> ChunkPart:
    """One chunk, start to finish (runs on a worker): open the prices, study, reduce. In this process
    (``spill``, a folder) the second-pass inputs are saved there; with ``stream`` (a
    :class:`~eventstudy.stream.StreamPlan`) the events table and frames are spilled for the results folder;
    ``forked`` (a forked worker, whose result is pickled through a pipe): the r̄ samples and the frames'
    arrays are saved there too and travel back as file names (:func:`_spill_samples`, :func:`_spill_frames`)."""
    from .sources import open_source
    from .study import study_events

    index, rows, ev = item.index, item.rows, item.events
    source = prices if not isinstance(prices, str) else open_source(prices)
    res = study_events(ev, source, spec, fac, jit=jit)
    cs = res.chunk_stats(rows=rows, day0_global=res.day0_global, jit=jit)
    frames = res.frame_arrays if keep_frames or stream is not None else None
    if spill is not None:
        base = Path(spill) / f"chunk{index:06d}"
        with _Pack(f"{base}_pass2.bin") as pack:          # read back whole by the second pass (_grank)
            sar_est, est_ranks, sar_span = pack.add(cs.sar_est), pack.add(rank_codes(cs.est_ranks, jit)), \
                pack.add(cs.sar_span)
        cs = replace(cs, sar_est=sar_est, est_ranks=est_ranks, sar_span=sar_span,
                     events=_spill_events(cs.events, str(base)))
        if forked:
            cs = replace(cs, sums=_spill_samples(cs.sums, str(base)))
            if frames is not None and stream is None:
                frames = _spill_frames(frames, str(base))
    part = ChunkPart(index, np.asarray(rows), res.events, cs, frames, res.note_parts, res.meta,
                     np.asarray(rows)[res.ok])
    if stream is not None:
        from .stream import spill_part

        spill_part(stream, part)
    return part


@dataclass(frozen=True)
class _OnDisk:
    """An array saved by a chunk in a pack file (:class:`_Pack`): what travels back from a forked worker
    instead of its bytes. :func:`_from_disk` maps it, read-only, in the process that merges."""

    path: str
    offset: int
    dtype: str
    shape: tuple[int, ...]


class _Pack:
    """Several arrays of a chunk written one after the other into one new file (their raw bytes, each at an
    offset that is a multiple of 64), instead of one ``.npy`` file each: creating a file costs about as much
    as writing a few hundred KB on this machine's file system, and a chunk spills tens of arrays. Use as a
    context manager; :meth:`add` returns the array's :class:`_OnDisk` name."""

    ALIGN = 64

    def __init__(self, path: str):
        self.path, self._fh, self._pos = str(path), open(path, "xb"), 0

    def add(self, a: np.ndarray):
        """Append ``a`` and return its name (empty and object arrays are returned as they are)."""
        a = np.asarray(a)
        if a.size == 0 or a.dtype == object:
            return a
        pad = -self._pos % self.ALIGN
        if pad:
            self._fh.write(b"\0" * pad)
        ref = _OnDisk(self.path, self._pos + pad, a.dtype.str, tuple(int(k) for k in a.shape))
        self._fh.write(np.ascontiguousarray(a).reshape(-1).view(np.uint8).data)
        self._pos = ref.offset + a.nbytes
        return ref

    def __enter__(self) -> "_Pack":
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()


def _nbytes(a: _OnDisk) -> int:
    return int(np.prod(a.shape, dtype=np.int64)) * np.dtype(a.dtype).itemsize


def _from_disk(a, maps: dict | None = None, mode: str = "r"):
    """The bytes behind an :class:`_OnDisk` name mapped read-only (a view of an ``np.memmap`` of its pack
    file; ``maps`` shares one mapping per file between the calls of one merge); anything else unchanged.
    ``mode="c"``: a private, writable mapping (copy-on-write; nothing is copied unless written), for the
    compiled kernels, whose signatures take writable arrays. The mapping outlives the file, which the
    study's temporary folder removes at its end (POSIX, where workers fork)."""
    if not isinstance(a, _OnDisk):
        return a
    maps = {} if maps is None else maps
    if (a.path, mode) not in maps:
        maps[a.path, mode] = np.memmap(a.path, np.uint8, mode=mode)
    return maps[a.path, mode][a.offset:a.offset + _nbytes(a)].view(np.dtype(a.dtype)).reshape(a.shape)


#: the arrays of the containers a chunk spills: plain fields, then fields holding a dict of arrays
_ARRAY_FIELDS = {EventStats: (("row", "key"), ("w", "e", "d")), FrameArrays: (("dates",), ("day", "win"))}


def _each_array(obj, fn):
    """``obj`` (:class:`EventStats` or :class:`FrameArrays`) with ``fn(name, array)`` in place of each of its
    arrays (``name``: the field, or ``field_key`` for a dict entry)."""
    plain, dicts = _ARRAY_FIELDS[type(obj)]
    return replace(obj, **{f: fn(f, getattr(obj, f)) for f in plain},
                   **{f: {k: fn(f"{f}_{k}", a) for k, a in getattr(obj, f).items()} for f in dicts})


def _arrays(obj) -> list:
    """Every array of ``obj`` (:class:`EventStats` or :class:`FrameArrays`)."""
    plain, dicts = _ARRAY_FIELDS[type(obj)]
    return [getattr(obj, f) for f in plain] + [a for f in dicts for a in getattr(obj, f).values()]


def _spill(obj, path: str):
    """``obj`` (:class:`EventStats` or :class:`FrameArrays`) with each of its arrays written to the pack
    file ``path`` and replaced by its name (:class:`_OnDisk`)."""
    with _Pack(path) as pack:
        return _each_array(obj, lambda _, a: pack.add(a))


def _spill_events(ev: EventStats, base: str) -> EventStats:
    """A chunk's compact per-event values saved next to its second-pass inputs, in one pack file: each
    array is replaced by its name (:class:`_OnDisk`; the labels, Python strings, stay), so a forked worker
    sends back names, not 0.8 KB per event through a pipe, and the merging process maps the file
    (:func:`_mapped_events`): until the merge reads them they are pages of a file (which the kernel writes
    out and evicts), not the process's memory; 8 GB at ten million events."""
    return _spill(ev, f"{base}_ev.bin")


def _mapped_events(ev: EventStats, maps: dict | None = None) -> EventStats:
    """:func:`_spill_events`'s arrays mapped back read-only (``np.memmap``); arrays held in memory unchanged."""
    maps = {} if maps is None else maps
    return _each_array(ev, lambda _, a: _from_disk(a, maps))


def _spill_frames(fr: FrameArrays, base: str) -> FrameArrays:
    """A chunk's frame arrays saved next to its other spilled values, in one pack file, each numeric array
    replaced by its name (:class:`_OnDisk`; the event ids, Python strings, stay): a forked worker sends
    back names instead of pickling ~2 KB per event through a pipe (measured at 100,000 events: ~0.6 s of
    pickling in the workers and ~1 s of reading in this process). :func:`_mapped_frames` maps them back."""
    return _spill(fr, f"{base}_fr.bin")


def _mapped_frames(fr: FrameArrays | None, maps: dict | None = None) -> FrameArrays | None:
    """:func:`_spill_frames`'s arrays mapped back read-only; frames held in memory (or none) unchanged."""
    maps = {} if maps is None else maps
    return None if fr is None else _each_array(fr, lambda _, a: _from_disk(a, maps))


def _spill_samples(sums: dict, base: str) -> dict:
    """Each group's :math:`\\bar r` residual sample (up to 500 events × the estimation days, ~1 MB a group:
    most of the bytes of a chunk's sums) saved as a file, by the group's position (group labels are any
    text); the merge reads the mapped files."""
    with _Pack(f"{base}_rbar.bin") as pack:
        return {g: replace(s, rbar_resid=pack.add(s.rbar_resid)) for g, s in sums.items()}


def _mapped_part(part: ChunkPart) -> ChunkPart:
    """A chunk's part as returned by its worker, its spilled per-event values, r̄ samples and frames mapped
    in this process."""
    st, maps = part.stats, {}
    sums = {g: replace(s, rbar_resid=_from_disk(s.rbar_resid, maps)) for g, s in st.sums.items()}
    return replace(part, stats=replace(st, events=_mapped_events(st.events, maps), sums=sums),
                   frames=_mapped_frames(part.frames, maps))


def _drop_files(arrays) -> None:
    """Delete the files behind memory-mapped arrays once read (the mappings stay valid on POSIX; elsewhere
    the study's temporary folder removes them at its end); arrays held in memory are left alone."""
    for a in arrays:
        if isinstance(a, np.memmap) and a.filename:
            try:
                Path(a.filename).unlink(missing_ok=True)
            except OSError:
                pass


def _light(part: ChunkPart) -> ChunkPart:
    """The part without the second-pass inputs (what travels back to the caller)."""
    return replace(part, stats=replace(part.stats, sar_est=None, est_ranks=None, sar_span=None))


def _grank(part: ChunkPart, scales: dict, jit: bool) -> dict:
    cs = part.stats
    files = {a.path for a in (cs.sar_est, cs.est_ranks, cs.sar_span) if isinstance(a, _OnDisk)}
    if not files:
        return grank_chunk(cs, scales, jit)
    maps: dict = {}                          # mapped, not read: the page cache's copy is used in place
    mapped = replace(cs, **{k: _from_disk(getattr(cs, k), maps, "c") for k in ("sar_est", "est_ranks", "sar_span")})
    try:
        return grank_chunk(mapped, scales, jit)
    finally:
        del mapped                           # the mappings close with their last views (Windows cannot delete
        maps.clear()                         # a mapped file), then the files go: the disk is freed as pass 2 goes
        for f in files:
            Path(f).unlink(missing_ok=True)


def _scar_only(ev: EventStats) -> EventStats:
    """A chunk's per-event values reduced to what the second pass reads: the window SCARs (and rows, keys,
    groups)."""
    return replace(ev, w={"scar": ev.w["scar"]}, e={}, d={})


def _for_pass_two(part: ChunkPart) -> ChunkPart:
    """A serial handle after the merge: only what :func:`_grank` reads of the compact per-event values
    (the window SCARs and the groups); the rest is merged."""
    return replace(part, table=None, frames=None, stats=replace(part.stats, events=_scar_only(part.stats.events)))


def run_chunked(ev: pd.DataFrame, prices, spec, fac: pd.DataFrame | None, *, chunk_size: int | None = None,
                workers: int | None = None, scheduler: str | None = None, keep_frames: bool = True,
                progress: Callable[[str], None] | None = None, processes: int | None = None,
                out: str | Path | None = None, format: str = "csv", inputs: dict | None = None):
    """Run a loaded, canonically ordered event table in chunks (module docstring); returns
    :class:`~eventstudy.results.EventStudyResults` without the panel (its statistics, events and, with
    ``keep_frames``, the long frames).

    ``processes``: without ``workers``/``scheduler``, run the chunks on this many processes forked from
    this one (:class:`~eventstudy.engine.ForkExecutor`); default: one per CPU when the price source is
    local (``fork_safe``: in memory, a folder, a store, bundled data) and there are several chunks, else
    in this process. The numbers do not depend on it.

    With ``out`` (a folder) the results folder is streamed (:mod:`eventstudy.stream`): each chunk's events
    table and frames are spilled to the study's temporary folder as the chunk finishes and written to
    ``out`` (``format``: csv or parquet; ``inputs``: the manifest's inputs) block by block in canonical
    order, byte for byte the folder :meth:`~eventstudy.results.EventStudyResults.save` writes for the
    study run without ``out``. ``out`` is checked before any chunk runs and replaced as one unit at the
    end (a failure leaves it as it was). The result is then a
    :class:`~eventstudy.stream.StreamedResults` (events and frames read from ``out`` on first use).
    The merged per-event statistics are memory-mapped files above
    :data:`~eventstudy.suffstats.MEMMAP_MIN_BYTES` (:meth:`~eventstudy.suffstats.EventStats.assemble`)."""
    import contextlib

    from .engine import ForkExecutor, open_executor
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
    items = _Items(ev, chunks)
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
    writer = None
    with contextlib.ExitStack() as stack:
        if out is not None:
            from .export import FolderWriter

            writer = stack.enter_context(FolderWriter(Path(out), format))   # checks out before any work
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="eventstudy-chunks-",
                                                              ignore_cleanup_errors=True))
        ex = stack.enter_context(open_executor(workers=workers, scheduler=scheduler, processes=processes))
        plan = None
        if writer is not None:
            from .stream import StreamPlan, block_events, spill_part, write_streamed

            Path(tmp, "tables").mkdir()
            plan = StreamPlan(str(Path(tmp, "tables")), len(ev), block_events(len(ev)), len(spec.windows),
                              writer.format)
        jit = study_jit(len(ev), spec.estimation[1] - spec.estimation[0] + 1,
                        len(spec.windows) + spec.span[1] - spec.span[0] + 1)
        if jit and processes > 1:
            from ._kernels import warm_up

            warm_up()                          # once here, not once per forked process
        # in this process or on processes forked from it (``serial``: this machine's disk), each chunk
        # spills its second-pass inputs and, when streaming, its tables itself
        handles = ex.submit_all(_run_chunk, items, prices, spec, fac, keep_frames or plan is not None,
                                tmp if serial else None, jit, plan if serial else None,
                                isinstance(ex, ForkExecutor))
        del items
        if serial:
            handles = [_mapped_part(h) for h in handles]
        if serial:
            parts = [_light(h) for h in handles]
        elif plan is None:
            parts = ex.gather(ex.map_on(_light, handles))
        else:                                 # one chunk at a time: spill its tables, drop them
            parts = []
            lights = ex.map_on(_light, handles)
            for f in lights:
                p = ex.gather([f])[0]
                spill_part(plan, p)
                p.stats = replace(p.stats, events=_mapped_events(_spill_events(p.stats.events,
                                                                                  str(Path(tmp, f"chunk{p.index:06d}")))))
                parts.append(p)
                ex.release([f])
        if progress:
            progress("merging the chunks' statistics")
        # the second pass needs of the per-event values only the window SCARs and the groups: merge those (and
        # the sums) first, so the second-pass inputs on disk are read and deleted before the full per-event
        # arrays are laid out (memory-mapped in tmp for big studies): the disk never holds both
        full = [p.stats.events for p in parts]
        st = merge([replace(p.stats, events=_scar_only(p.stats.events)) for p in parts], spill=tmp)
        _drop_files([s.rbar_resid for p in parts for s in p.stats.sums.values()])    # merged: the r̄ samples' files
        for p in parts:
            p.stats = None
        if serial:
            handles = [_for_pass_two(h) for h in handles]
        if progress:
            progress("generalized rank test (second pass over the chunks)")
        scales = grank_scales(st)
        finish(st, ex.gather(ex.map_on(_grank, handles, scales, use_jit(st))))
        ex.release(handles)
        del handles
        engine = ex.describe()
        if progress:
            progress("assembling the per-event statistics")
        st.events = EventStats.assemble(full, tmp)
        _drop_files([a for ev in full for a in _arrays(ev)])
        del full                               # assembled into st: free the chunks' copies
        if plan is not None:
            not_studied = write_streamed(writer, plan, parts, progress)

        rows = np.concatenate([p.rows for p in parts])
        note_parts = _merge_note_parts([p.note_parts for p in parts])
        for p in parts:
            p.note_parts = None                # merged (per-event flag counts: 0.1 KB per event)
        notes = study_notes(ev, spec, note_parts)
        meta0 = parts[0].meta
        status = np.empty(len(ev), object)
        status[rows] = note_parts["status"]
        ok = status == "ok"
        in_stats = np.zeros(len(ev), bool)
        in_stats[rows] = note_parts["in_stats"]
        meta = {"source": _merge_sources([p.meta["source"] for p in parts]), "n_events": len(ev),
                "n_ok": int(ok.sum()), "n_in_stats": int(in_stats.sum()),
                "n_source_errors": int((status == "source_error").sum()),
                "price_sha256": hashlib.sha256("".join(p.meta["price_sha256"] for p in parts).encode()).hexdigest(),
                "chunks": {"chunk_size": chunk_size or DEFAULT_CHUNK, "n_chunks": len(parts),
                           "price_sha256": "SHA-256 of the chunks' price hashes, in chunk order"}}
        del status, note_parts
        if "factors" in meta0:
            meta["factors"] = meta0["factors"]
            f = meta0["factors"]
            notes.append(f"factor data {f['first']} to {f['last']}, units: {f['units']}")
        notes.append(f"computed in {len(parts)} chunk(s) of about {chunk_size or DEFAULT_CHUNK} events (whole "
                     "tickers); statistics merged from per-chunk sufficient statistics (docs/scale.md)")
        args = dict(spec=spec, panel=None, fit=None, expected=None, ar=None, windows=None, ok=ok, in_stats=in_stats,
                    notes=notes, meta=meta, volume=None)
        if writer is not None:
            from .export import TABLE_NAMES, manifest_head
            from .stream import StreamedResults

            res = StreamedResults(events=None, path=Path(out), format=writer.format, manifest={},
                                  not_studied=not_studied, **args)
            res._stats, res.engine = st, engine
            if progress:
                progress("summary and aar tables")
            writer.add_frame("summary", res.caar)
            writer.add_frame("aar", res.aar)
            writer.commit(manifest_head(res, inputs or {}), order=list(TABLE_NAMES))
            res.manifest = writer.manifest
            return res
    tables = [p.table for p in parts]
    for p in parts:
        p.table = None
    table = pd.concat(tables, ignore_index=True)
    del tables
    table = table.take(np.argsort(rows, kind="stable")).reset_index(drop=True)
    res = EventStudyResults(events=table, **args)
    res._stats = st
    res.engine = engine          # where it ran (kept out of the manifest's run id: the answer does not depend on it)
    if keep_frames:                # merged (and rendered) when first read: a study that only wants its tables never pays
        res._frames = functools.partial(_merge_frames, [p.frames for p in parts], [p.ok_rows for p in parts])
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


def _merge_frames(frames: list[FrameArrays], ok_rows: list[np.ndarray]) -> FrameArrays:
    """The chunks' frame arrays as one, its events in canonical order (``ok_rows``: each chunk's studied
    events' canonical rows, in its arrays' order): rendered, the in-memory study's frames."""
    order = np.argsort(np.concatenate(ok_rows), kind="stable")
    return FrameArrays.concat(frames).take(order)
