"""Run every benchmark: ``python -m benchmarks [name ...]`` (``make bench``)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "bench_dicom_read",
    "bench_dicom_read_compressed",
    "bench_quantify",
    "bench_study_import",
    "bench_stats",
    "bench_simulate",
    "bench_ingest",
    "bench_dask",
    "bench_web",
    "bench_pacs",
    "bench_viewer",
]


def main(argv: list[str]) -> None:
    chosen = argv or BENCHMARKS
    for name in chosen:
        module = importlib.import_module(f"benchmarks.{name}")
        module.run()


if __name__ == "__main__":
    main(sys.argv[1:])
