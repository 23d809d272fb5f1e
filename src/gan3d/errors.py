"""Typed errors: the CLI turns every `Gan3dError` into one line and exit code 2."""

from __future__ import annotations

from os import PathLike


class Gan3dError(Exception):
    """Base class of every error gan3d raises on purpose (bad input, bad config)."""


class DataError(Gan3dError):
    """A file or array that cannot be used, with the file named.

    Args:
        path: the offending file (or a short description of the in-memory input).
        problem: what is wrong with it, in a few words.
    """

    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(Gan3dError):
    """An option or combination of options that cannot work."""


class CheckpointError(Gan3dError):
    """A checkpoint that cannot be read or does not match the model."""
