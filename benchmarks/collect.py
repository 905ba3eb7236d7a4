"""Assemble BENCHMARKS.md from the summary below and the per-area result files.

Each area's benchmark script writes its measured results to ``benchmarks/results/<area>.md``;
this script puts them under one roof, headings demoted one level, so that BENCHMARKS.md is
never edited by hand and never drifts from the area files.

Usage: ``python benchmarks/collect.py`` (from the repository root).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AREAS = ("twin", "solvers", "smart", "comms", "app", "sweeps", "quantum")


def main() -> None:
    summary = (ROOT / "benchmarks" / "SUMMARY.md").read_text()
    parts = [summary.rstrip(), ""]
    for area in AREAS:
        text = (ROOT / "benchmarks" / "results" / f"{area}.md").read_text()
        text = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.MULTILINE)
        parts += [f"<!-- from benchmarks/results/{area}.md -->", text.rstrip(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
