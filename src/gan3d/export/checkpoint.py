"""Inference checkpoints: `config.json` (builder name + kwargs) + `model.safetensors` (the weights).

Loading never unpickles: weights come from safetensors, and Lightning training checkpoints are read
with `torch.load(weights_only=True)` — the only place in gan3d that calls `torch.load`. Rebuilding the
model from a folder is `gan3d.registry.load_pretrained` (the registry knows the builders).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan3d.errors import CheckpointError
from gan3d.files import atomic_path, write_text_atomic

CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"


def save_pretrained(model: nn.Module, directory: str | os.PathLike[str], builder: str, **extra: Any) -> Path:
    """Write `directory/config.json` and `directory/model.safetensors` for a registered model.

    Args:
        model: a module with a `config` dict of its builder's keyword arguments.
        directory: output folder (created).
        builder: the registered builder name that rebuilds `model` from `config`.
        extra: more JSON-able metadata kept in config.json (class names, training settings...).
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    config = {"builder": builder, "kwargs": dict(model.config), **extra}  # type: ignore[attr-defined]
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(directory / WEIGHTS_NAME) as tmp:
        save_file(state, str(tmp))
    write_text_atomic(directory / CONFIG_NAME, json.dumps(config, indent=1))
    return directory


def read_pretrained(
    directory: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The config dict and the weights of a folder written by `save_pretrained` (nothing is unpickled);
    `gan3d.registry.load_pretrained` rebuilds the model from them."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    try:
        config = json.loads((directory / CONFIG_NAME).read_text())
        if not isinstance(config, dict) or not isinstance(config.get("builder"), str):
            raise KeyError("builder")
        state = load_file(str(directory / WEIGHTS_NAME), device=str(map_location))
    except FileNotFoundError as err:
        raise CheckpointError(f"{directory}: missing {Path(err.filename).name}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, SafetensorError) as err:
        raise CheckpointError(f"{directory}: unreadable checkpoint ({type(err).__name__}: {err})") from None
    return config, state


def load_training_checkpoint(path: str | os.PathLike[str]) -> dict:
    """A Lightning `.ckpt` as plain tensors and containers (never arbitrary pickled objects)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)  # noqa: TID251
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder (an export folder goes to --ckpt of sample/reconstruct)") from None
    except Exception as err:  # torch raises many types on files that are not checkpoints
        if type(err).__name__ == "UnpicklingError":  # weights_only refuses anything but tensors and containers
            raise CheckpointError(
                f"{path}: not a loadable checkpoint (it holds objects other than tensors and plain containers; "
                "gan3d refuses to unpickle them)"
            ) from None
        raise CheckpointError(f"{path}: not a loadable checkpoint ({type(err).__name__}: {str(err)[:120]})") from None
