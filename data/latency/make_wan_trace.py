"""Write data/latency/wan_rtt_half_ms.csv: a SYNTHETIC one-way WAN delay trace.

Not a measurement. It stands in for a measured trace until one is available, and shows
the trace format. Model: a lognormal base delay (median 22 ms, p99 60 ms) with bursty
congestion: episodes start with probability 0.004 per sample, last a geometric number
of samples (mean 25) and add a uniform 80-300 ms. Seeded, so the file is reproducible:

    python data/latency/make_wan_trace.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

N_SAMPLES = 5000
SEED = 20261126


def main() -> None:
    """Write the trace next to this script."""
    rng = np.random.default_rng(SEED)
    sigma = math.log(60.0 / 22.0) / 2.3263478740408408
    base = rng.lognormal(math.log(22.0), sigma, N_SAMPLES)
    extra = np.zeros(N_SAMPLES)
    k = 0
    while k < N_SAMPLES:
        if rng.random() < 0.004:
            length = int(rng.geometric(1 / 25))
            extra[k : k + length] = rng.uniform(80.0, 300.0)
            k += length
        else:
            k += 1
    values = base + extra
    out = Path(__file__).with_name("wan_rtt_half_ms.csv")
    lines = [
        "# SYNTHETIC one-way WAN delay (not a measurement); written by make_wan_trace.py",
        "# lognormal median 22 ms p99 60 ms + bursty congestion episodes (+80..300 ms)",
        "latency_ms",
        *(f"{v:.3f}" for v in values),
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
