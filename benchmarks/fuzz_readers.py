"""The long fuzz run of gan3d's readers: thousands of mutated files per format (see tests/fuzzing.py).

Run by hand: `python benchmarks/fuzz_readers.py [--per-seed 400] [--seed 0]`. Prints, per reader, the
inputs, how many parsed, how many were refused with a `DataError`, the problems (untyped exceptions,
reads over 5 s or over 256 MiB), the slowest read and the largest allocation.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzzing import fuzz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-seed", type=int, default=400, help="mutants per seed file (default 400)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        reports = fuzz(Path(folder), args.per_seed, args.seed)
    total = time.perf_counter() - start
    print("| reader | inputs | parsed | DataError | problems | slowest (s) | peak (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for suffix, r in sorted(reports.items()):
        cells = [suffix, r.inputs, r.accepted, r.typed_errors, len(r.untyped), f"{r.slowest_s:.3f}"]
        print("| " + " | ".join(map(str, cells)) + f" | {r.peak_bytes / 2**20:.1f} |")
    inputs = sum(r.inputs for r in reports.values())
    problems = [m for r in reports.values() for m in r.untyped]
    print(f"\n{inputs} inputs in {total:.0f} s; {len(problems)} problems")
    for message in problems[:50]:
        print("  " + message)


if __name__ == "__main__":
    main()
