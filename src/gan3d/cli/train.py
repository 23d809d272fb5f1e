"""`gan3d train --config FILE [--trainer.max_epochs 2 --data.root DIR --ckpt_path last ...]`.

One entry for every family: the config names the LightningModule and the DataModule by `class_path`
(Lightning CLI subclass mode), so a new family adds a module and configs, nothing here. Runs go to
`<root>/<name>/version_N/` — `<root>` is `--trainer.default_root_dir` when given, else `runs/` — with
TensorBoard and CSV logs, `checkpoints/last.ckpt` for resuming, the family's previews, and an
inference export (`export/config.json` + `export/model.safetensors`).

Configs written before `class_path` (a flat `model:` of `VaeGanModule` arguments and `data:` of
`ShapeDataModule` arguments) are read as those classes (`migrate_config`).
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# the classes of configs that predate `class_path` (every one of them trained the voxel family)
LEGACY_MODEL = "gan3d.training.vae_gan_module.VaeGanModule"
LEGACY_DATA = "gan3d.data.datamodule.ShapeDataModule"
ALIASES = {"--vgg-weights": "--model.vgg_weights"}  # short options for model arguments several families take


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        add_help=False,
        help="train a model from a YAML config (Lightning CLI overrides allowed)",
        description="Everything after `train` goes to Lightning's CLI: --config FILE, --model.*, --data.*, "
        "--trainer.*, and --ckpt_path (a .ckpt, or 'last' to resume the latest run of this config). "
        "--vgg-weights PATH is short for --model.vgg_weights PATH (a local VGG16 file for perceptual losses).",
    )
    parser.add_argument("cli_args", nargs=argparse.REMAINDER)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return train(args.cli_args)


def migrate_config(config: dict[str, Any]) -> dict[str, Any]:
    """A config in today's form: `model` and `data` given as flat arguments become
    `{class_path: <the voxel family's class>, init_args: {...}}`; configs with `class_path` pass through."""
    out = dict(config)
    for key, class_path in (("model", LEGACY_MODEL), ("data", LEGACY_DATA)):
        section = out.get(key)
        if isinstance(section, dict) and "class_path" not in section:
            out[key] = {"class_path": class_path, "init_args": section}
    return out


def _migrated_argv(argv: Sequence[str], scratch: Path) -> list[str]:
    """`argv` with every `--config FILE` that predates `class_path` replaced by a migrated copy."""
    import yaml

    from gan3d.errors import ConfigError

    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg != "--config":
            continue
        path = Path(out[i + 1])
        try:
            config = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: not a readable YAML config ({type(err).__name__})") from None
        if not isinstance(config, dict):
            raise ConfigError(f"{path}: a config must be a YAML mapping (model:, data:, trainer:)")
        migrated = migrate_config(config)
        if migrated != config:
            copy = scratch / f"{len(list(scratch.iterdir()))}_{path.name}"
            copy.write_text(yaml.safe_dump(migrated, sort_keys=False))
            out[i + 1] = str(copy)
    return out


def train(argv: Sequence[str]) -> int:
    """Parse `argv` with Lightning's CLI (subclass mode), then fit (resuming from `--ckpt_path` when given)."""
    argv = [ALIASES.get(arg, arg) for arg in argv]
    with tempfile.TemporaryDirectory(prefix="gan3d-config-") as scratch:
        return _train(_migrated_argv(argv, Path(scratch)))


def _train(argv: list[str]) -> int:
    from argparse import ArgumentError

    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.cli import LightningCLI

    from gan3d.errors import ConfigError

    class Gan3dCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:  # noqa: ANN001
            parser.add_argument("--ckpt_path", type=str | None, default=None, help="checkpoint to resume, or 'last'")
            parser.add_argument("--name", type=str, default="gan3d", help="run name: logs go to <root>/<name>/")

        def instantiate_trainer(self, **kwargs):  # noqa: ANN003, ANN202
            # TensorBoard + CSV in one <root>/<name>/version_N folder, unless the config sets loggers
            trainer_config = self._get(self.config_init, "trainer", default={})
            if trainer_config.get("logger") is None:
                from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

                name = self._get(self.config, "name")
                root = trainer_config.get("default_root_dir") or "runs"
                tensorboard = TensorBoardLogger(root, name=name)
                kwargs["logger"] = [tensorboard, CSVLogger(root, name=name, version=tensorboard.version)]
            return super().instantiate_trainer(**kwargs)

    for i, arg in enumerate(argv):  # before the trainer starts (and prints its banners)
        value = argv[i + 1] if arg == "--ckpt_path" and i + 1 < len(argv) else arg.partition("=")[2]
        if (arg == "--ckpt_path" or arg.startswith("--ckpt_path=")) and value not in ("", "last", "null"):
            _check_checkpoint(value)
    try:
        with warnings.catch_warnings():
            # we pass `args` on purpose (argv after `gan3d train`), not Lightning's mistake it warns about
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            cli = _make_cli(Gan3dCLI, argv)
    except ArgumentError as err:  # a bad option or value: the parser's own message, on one line
        raise ConfigError(f"train: {' '.join(str(err).split())[:400]}") from None
    except ValueError as err:  # a class refused its arguments; jsonargparse wraps the error it raised
        raise _our_error(err) or ConfigError(f"train: {' '.join(str(err).split())[:400]}") from None
    ckpt = cli.config.get("ckpt_path")
    if ckpt == "last":
        ckpt = _last_checkpoint(cli.trainer)
    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt)
    except MisconfigurationException as err:  # e.g. resuming past --trainer.max_epochs: say it in one line
        raise ConfigError(" ".join(str(err).split())) from None
    return 0


def _our_error(err: BaseException) -> BaseException | None:
    """The first gan3d error (a `Gan3dError`: its message names the file or the setting) that `err` was
    raised from or during, or None."""
    from gan3d.errors import Gan3dError

    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Gan3dError):
            return current
        stack += [current.__cause__, current.__context__]
    return None


def _make_cli(cli_class: type, argv: list[str]):  # noqa: ANN202
    import lightning as L

    return cli_class(
        L.LightningModule,
        L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=argv,
        run=False,
        save_config_kwargs={"overwrite": True},
        trainer_defaults=_trainer_defaults(),
        seed_everything_default=0,
        auto_configure_optimizers=False,
        parser_kwargs={"exit_on_error": False},
    )


def _check_checkpoint(ckpt: str) -> None:
    """Refuse a checkpoint Lightning should not open: remote (Lightning would fetch it and may unpickle),
    missing, or not loadable with `weights_only=True` (arbitrary pickled objects)."""
    from gan3d.errors import ConfigError
    from gan3d.export.checkpoint import load_training_checkpoint

    if "://" in ckpt:
        raise ConfigError(f"{ckpt}: remote checkpoints are refused; download it and pass the local file")
    load_training_checkpoint(ckpt)  # a CheckpointError in one line when it is missing or unsafe


def _trainer_defaults() -> dict:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from gan3d.training.callbacks import InferenceExportCallback

    return {
        "callbacks": [ModelCheckpoint(save_last=True, every_n_epochs=1), InferenceExportCallback()],
        "accelerator": "auto",
    }


def _last_checkpoint(trainer) -> str | None:  # noqa: ANN001
    """The newest `last.ckpt` among this run name's versions, or None (start fresh)."""
    logger = trainer.loggers[0] if trainer.loggers else None
    root = Path(logger.save_dir) / logger.name if logger is not None else Path(trainer.default_root_dir)
    candidates = sorted(root.glob("version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    return str(candidates[-1]) if candidates else None
