"""The long per-event frames (``ar``, ``car``, ``volume``) and the arrays they are rendered from.

A long frame repeats each studied event's id and dates over its event-span days (``ar``, ``volume``) or
its windows (``car``). The values behind them are a few (events × days) and (events × windows) arrays,
:class:`FrameArrays`, several times smaller than the frames and cheap to pass between processes, to
concatenate and to reorder. Every study renders its frames from them with :func:`render`, the in-memory
study as a chunked one (whose chunks return their arrays; the frames are rendered once, when first
read), so the frames are the same whichever way the study ran.

Layouts (rows; columns in this order):

* ``ar``: event by event, then day: ``event_id, rel_day, date`` and :data:`AR_COLUMNS`;
* ``volume``: the same keys and :data:`VOLUME_COLUMNS`;
* ``car``: window by window, then event: ``event_id, window, win_start, win_end`` and :data:`CAR_COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: per event × event-span day values of ``ar.csv`` (simple returns, decimals)
AR_COLUMNS: tuple[str, ...] = ("ret", "expected", "ar")
#: per event × event-span day values of ``volume.csv`` (see :mod:`eventstudy.volume`)
VOLUME_COLUMNS: tuple[str, ...] = ("volume", "vol_ratio_20", "vol_ratio_63", "abvol_log", "abvol_mm", "vol_z")
#: per event × window values of ``car.csv``
CAR_COLUMNS: tuple[str, ...] = ("car", "car_se", "scar", "bhar", "n_days", "n_missing", "vol_cav_log",
                                "vol_cav_mm")
#: the frames and the value columns each holds
FRAME_COLUMNS: dict[str, tuple[str, ...]] = {"ar": AR_COLUMNS, "car": CAR_COLUMNS, "volume": VOLUME_COLUMNS}


@dataclass
class FrameArrays:
    """The values of the long frames of ``n`` studied events.

    ``ids`` (n,) event ids; ``rel`` (D,) event-span relative days; ``dates`` (n, D) their sessions
    (datetime64[ns], NaT off the session grid); ``day`` maps each of :data:`AR_COLUMNS` and
    :data:`VOLUME_COLUMNS` to an (n, D) array; ``windows`` the W event windows and ``win`` maps each
    of :data:`CAR_COLUMNS` to an (n, W) array."""

    ids: np.ndarray
    rel: np.ndarray
    dates: np.ndarray
    day: dict[str, np.ndarray]
    windows: tuple[tuple[int, int], ...]
    win: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, order: np.ndarray) -> FrameArrays:
        """The events at positions ``order``, in that order."""
        return FrameArrays(self.ids[order], self.rel, self.dates[order], {k: a[order] for k, a in self.day.items()},
                           self.windows, {k: a[order] for k, a in self.win.items()})

    @staticmethod
    def concat(parts: list[FrameArrays]) -> FrameArrays:
        """The events of ``parts`` one after the other (same event span and windows in every part)."""
        first = parts[0]
        for p in parts[1:]:
            if not np.array_equal(p.rel, first.rel) or tuple(p.windows) != tuple(first.windows):
                raise ValueError("frame arrays of different event spans or windows cannot be concatenated")
        return FrameArrays(np.concatenate([p.ids for p in parts]), first.rel,
                           np.concatenate([p.dates for p in parts]),
                           {k: np.concatenate([p.day[k] for p in parts]) for k in first.day},
                           first.windows, {k: np.concatenate([p.win[k] for p in parts]) for k in first.win})


def _text(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Event ids as pandas' text dtype whatever their number (an empty chunk's column too: blocks of
    streamed frames concatenate to the dtype of the whole frame)."""
    return pd.array(values, dtype="str")


def _keys(fa: FrameArrays) -> dict[str, object]:
    n, D = len(fa.ids), len(fa.rel)
    return {"event_id": _text(np.repeat(fa.ids, D)), "rel_day": np.tile(fa.rel, n),
            "date": pd.to_datetime(fa.dates.ravel())}


def render(fa: FrameArrays, name: str) -> pd.DataFrame:
    """The long frame ``name`` (``ar``, ``car`` or ``volume``; layouts in the module docstring)."""
    from .abnormal import window_label

    if name not in FRAME_COLUMNS:
        raise ValueError(f"unknown frame {name!r}: expected one of {sorted(FRAME_COLUMNS)}")
    if name != "car":
        cols = _keys(fa)
        cols.update((c, fa.day[c].ravel()) for c in FRAME_COLUMNS[name])
        return pd.DataFrame(cols)
    n, W = len(fa.ids), len(fa.windows)
    labels = np.array([window_label(w) for w in fa.windows], dtype=str)
    cols = {"event_id": _text(np.tile(fa.ids, W)), "window": np.repeat(labels, n),
            "win_start": np.repeat(np.array([w[0] for w in fa.windows], dtype=np.int64), n),
            "win_end": np.repeat(np.array([w[1] for w in fa.windows], dtype=np.int64), n)}
    cols.update((c, fa.win[c].T.ravel()) for c in CAR_COLUMNS)      # window by window, then event
    return pd.DataFrame(cols)
