"""`gan3d data ...`: prepare datasets (voxelize, render views, synthesize, import real layouts)."""

from __future__ import annotations

import argparse

from gan3d.cli import data_prepare, data_render, data_synth, data_voxelize

SUBCOMMANDS = (data_voxelize, data_render, data_synth, data_prepare)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="prepare 3D datasets: voxel grids and rendered views")
    inner = parser.add_subparsers(dest="data_command", required=True)
    for module in SUBCOMMANDS:
        module.register(inner)
