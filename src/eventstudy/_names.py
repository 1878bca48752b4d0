"""Names shared by the command line and the numerical modules, in a module that imports nothing heavy
(so that ``eventstudy --help`` does not load numpy)."""

from __future__ import annotations

#: normal-return models (see :mod:`eventstudy.models`)
MODELS: tuple[str, ...] = ("market", "market-adjusted", "constant-mean", "ff3", "carhart", "ff5")
#: the factor columns each factor model regresses on
FACTOR_SETS: dict[str, tuple[str, ...]] = {
    "ff3": ("Mkt-RF", "SMB", "HML"),
    "carhart": ("Mkt-RF", "SMB", "HML", "Mom"),
    "ff5": ("Mkt-RF", "SMB", "HML", "RMW", "CMA"),
}
