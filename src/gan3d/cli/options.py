"""Checks of the options many subcommands share, run by `main` before any work starts, so a bad value
is one line and exit code 2 instead of a traceback, an allocation error or a silent empty result."""

from __future__ import annotations

import argparse
from pathlib import Path

from gan3d.errors import ConfigError

MAX_SAMPLES = 1_000_000  # `gan3d sample --n`: beyond this the output alone fills any disk
MAX_POINTS = 10_000_000
MAX_IMAGE_SIDE = 8192


def check_common_options(args: argparse.Namespace) -> None:
    """Raise `ConfigError` for a shared option out of its range (those present on `args`)."""
    from gan3d.io.binvox import MAX_RESOLUTION

    def given(name: str) -> bool:
        return getattr(args, name, None) is not None and not isinstance(getattr(args, name), (str, Path))

    if given("jobs") and args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    if given("threshold") and not 0.0 < args.threshold < 1.0:
        raise ConfigError(f"--threshold must be between 0 and 1 (occupancy probabilities), got {args.threshold}")
    if given("res") and not 2 <= args.res <= MAX_RESOLUTION:
        raise ConfigError(f"--res must be in [2, {MAX_RESOLUTION}], got {args.res}")
    if given("views") and args.views < 0:
        raise ConfigError(f"--views must be >= 0, got {args.views}")
    if given("size") and not 8 <= args.size <= MAX_IMAGE_SIDE:
        raise ConfigError(f"--size must be in [8, {MAX_IMAGE_SIDE}], got {args.size}")
    if given("n") and not 1 <= args.n <= MAX_SAMPLES:
        raise ConfigError(f"--n must be in [1, {MAX_SAMPLES}], got {args.n}")
    if given("points") and not 1 <= args.points <= MAX_POINTS:
        raise ConfigError(f"--points must be in [1, {MAX_POINTS}], got {args.points}")
    if given("columns") and args.columns < 1:
        raise ConfigError(f"--columns must be at least 1, got {args.columns}")
    if given("per_class") and args.per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {args.per_class}")
