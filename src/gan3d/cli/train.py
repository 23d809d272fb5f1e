"""`gan3d train --config FILE [--trainer.max_epochs 2 --data.root DIR --ckpt_path last ...]`.

Lightning's CLI parses the YAML config and the dotted overrides; runs go to `runs/<name>/version_N/`
with TensorBoard and CSV logs, `checkpoints/last.ckpt` for resuming, sample sheets, and an inference
export (`export/config.json` + `export/model.safetensors`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        add_help=False,
        help="train a model from a YAML config (Lightning CLI overrides allowed)",
        description="Everything after `train` goes to Lightning's CLI: --config FILE, --model.*, --data.*, "
        "--trainer.*, and --ckpt_path (a .ckpt, or 'last' to resume the latest run of this config).",
    )
    parser.add_argument("cli_args", nargs=argparse.REMAINDER)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return train(args.cli_args)


def train(argv: Sequence[str]) -> int:
    """Parse `argv` with Lightning's CLI, then fit (resuming from `--ckpt_path` when given)."""
    from lightning.pytorch.cli import LightningCLI

    from gan3d.data.datamodule import ShapeDataModule
    from gan3d.training.vae_gan_module import VaeGanModule

    class Gan3dCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:  # noqa: ANN001
            parser.add_argument("--ckpt_path", type=str | None, default=None, help="checkpoint to resume, or 'last'")
            parser.add_argument("--name", type=str, default="gan3d", help="run name: logs go to runs/<name>/")
            parser.link_arguments("data.classes", "model.class_names")

        def instantiate_trainer(self, **kwargs):  # noqa: ANN003, ANN202
            # TensorBoard + CSV in one runs/<name>/version_N folder, unless the config sets loggers
            if self._get(self.config_init, "trainer", default={}).get("logger") is None:
                from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

                name = self._get(self.config, "name")
                tensorboard = TensorBoardLogger("runs", name=name)
                kwargs["logger"] = [tensorboard, CSVLogger("runs", name=name, version=tensorboard.version)]
            return super().instantiate_trainer(**kwargs)

    cli = Gan3dCLI(
        VaeGanModule,
        ShapeDataModule,
        args=list(argv),
        run=False,
        save_config_kwargs={"overwrite": True},
        trainer_defaults=_trainer_defaults(),
        seed_everything_default=0,
        auto_configure_optimizers=False,
    )
    ckpt = cli.config.get("ckpt_path")
    if ckpt == "last":
        ckpt = _last_checkpoint(cli.trainer)
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    from gan3d.errors import ConfigError

    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt)
    except MisconfigurationException as err:  # e.g. resuming past --trainer.max_epochs: say it in one line
        raise ConfigError(" ".join(str(err).split())) from None
    return 0


def _trainer_defaults() -> dict:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from gan3d.training.callbacks import InferenceExportCallback, SampleSheetCallback

    return {
        "callbacks": [
            ModelCheckpoint(save_last=True, every_n_epochs=1),
            SampleSheetCallback(),
            InferenceExportCallback(),
        ],
        "accelerator": "auto",
    }


def _last_checkpoint(trainer) -> str | None:  # noqa: ANN001
    """The newest `last.ckpt` among this run name's versions, or None (start fresh)."""
    from pathlib import Path

    logger = trainer.loggers[0] if trainer.loggers else None
    root = Path(logger.save_dir) / logger.name if logger is not None else Path(trainer.default_root_dir)
    candidates = sorted(root.glob("version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    return str(candidates[-1]) if candidates else None
