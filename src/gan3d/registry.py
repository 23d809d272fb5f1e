"""A registry of model builders, one per paper variant (the timm / torchvision pattern)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from gan3d.errors import CheckpointError, ConfigError

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])
_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_model(builder: Builder) -> Builder:
    """Register a builder under its function name; `get_model(name, **overrides)` calls it."""
    if builder.__name__ in _BUILDERS:
        raise ConfigError(f"model {builder.__name__!r} registered twice")
    _BUILDERS[builder.__name__] = builder
    return builder


def get_model(name: str, **overrides: Any) -> nn.Module:
    """Build the registered variant `name`, with keyword overrides of its defaults."""
    return get_builder(name)(**overrides)


def get_builder(name: str) -> Callable[..., nn.Module]:
    """The registered builder `name` itself (its `__module__` tells the family's model file)."""
    import gan3d.models  # noqa: F401

    if name not in _BUILDERS:
        raise ConfigError(f"unknown model {name!r}; registered: {', '.join(sorted(_BUILDERS))}")
    return _BUILDERS[name]


def list_models() -> list[str]:
    """Names of all registered variants, sorted."""
    import gan3d.models  # noqa: F401

    return sorted(_BUILDERS)


def load_pretrained(
    directory: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by `gan3d.export.checkpoint.save_pretrained`: (model in eval mode, config)."""
    from gan3d.export.checkpoint import read_pretrained

    config, state = read_pretrained(directory, map_location)
    try:
        model = get_model(config["builder"], **dict(config.get("kwargs") or {}))
    except TypeError as err:
        raise CheckpointError(f"{directory}: config does not fit {config['builder']} ({err})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{directory}: weights do not match {config['builder']}: {str(err)[:200]}") from None
    return model.eval(), config
