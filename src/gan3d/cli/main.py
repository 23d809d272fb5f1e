"""Entry point of the `gan3d` command: parses, dispatches, and turns errors into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gan3d import __version__
from gan3d.cli import data, demo, evaluate, export, features, fit, interpolate, reconstruct, sample, train, view
from gan3d.cli.options import check_common_options
from gan3d.errors import Gan3dError

SUBCOMMANDS = (data, demo, evaluate, export, features, fit, interpolate, reconstruct, sample, train, view)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per subcommand module."""
    parser = argparse.ArgumentParser(prog="gan3d", description="GAN architectures for 3D models.")
    parser.add_argument("--version", action="version", version=f"gan3d {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 partial failure, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["train"] and not {"-h", "--help"} & set(argv[1:2]):
        # Lightning's CLI parses everything after `train` (argparse's REMAINDER cannot take leading options)
        args = argparse.Namespace(run=lambda _: train.train(argv[1:]))
    else:
        args = parser.parse_args(argv)
    try:
        check_common_options(args)
        return int(args.run(args))
    except Gan3dError as err:
        sys.stderr.write(f"gan3d: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("gan3d: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
