"""Fuzzing every reader (seeded, ~600 mutated files, a few seconds): only `Gan3dError`s escape, no read
allocates more than 256 MiB or takes more than 5 s. The long run is `benchmarks/fuzz_readers.py`."""

from __future__ import annotations

from pathlib import Path

from tests.fuzzing import fuzz


def test_readers_survive_mutated_files(tmp_path: Path) -> None:
    reports = fuzz(tmp_path, per_seed=40, seed=0)
    problems = [message for report in reports.values() for message in report.untyped]
    assert not problems, "\n".join(problems[:20])
    assert sum(r.inputs for r in reports.values()) >= 600
    # the fuzzer is not trivially rejecting everything: some mutants still parse, most are refused
    assert all(r.typed_errors > 0 for r in reports.values())
    assert sum(r.accepted for r in reports.values()) > 50
