"""One line naming the machine a benchmark ran on: CPU model, CPUs, and the SIMD extensions numpy found.

The virtual machines here are not always the same hardware (on 2026-12-02 an AMD EPYC host without AVX-512,
where numpy sorts 64-bit keys 2-4x slower than 32-bit ones), so figures are only comparable with the same
line printed beside them."""

from __future__ import annotations

import os


def describe() -> str:
    """``"cpu: AMD EPYC, 2 CPUs; numpy SIMD: AVX2 yes, AVX512F no"`` (model from ``/proc/cpuinfo`` on Linux)."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:                                    # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    simd = ", ".join(f"{k} {'yes' if feats.get(k) else 'no'}" for k in ("AVX2", "AVX512F"))
    return f"cpu: {model}, {os.cpu_count()} CPUs; numpy SIMD: {simd}"


if __name__ == "__main__":
    print(describe())
