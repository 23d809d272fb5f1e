"""Shared fixtures: a fixed seed for every test, the real sample files, small meshes."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="slow: set RUN_SLOW=1")
    skip_cuda = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "slow" in item.keywords and os.environ.get("RUN_SLOW") != "1":
            item.add_marker(skip_slow)
        if "requires_cuda" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_cuda)


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def real() -> Path:
    """`../shared/real` (samples made outside this project); the test skips when it is absent."""
    if not REAL.is_dir():
        pytest.skip("../shared/real is absent")
    return REAL


def real_files(pattern: str) -> list[Path]:
    """Real sample files matching a glob under `../shared/real` (empty when the folder is absent)."""
    return sorted(REAL.glob(pattern)) if REAL.is_dir() else []
