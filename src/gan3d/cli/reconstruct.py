"""`gan3d reconstruct --ckpt CKPT IMAGE [IMAGE ...] --out FILE.obj`: a 3D object from 1..V photos, by the
model's family (`gan3d.pipelines.loading`). Photos are first prepared as the training views look
(object found, cropped, centred on white: `gan3d.data.photos`); `--no-prepare` feeds them as they are."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconstruct",
        help="reconstruct one object from its views: FILE.obj, FILE.binvox and FILE.png",
    )
    parser.add_argument("images", nargs="+", type=Path, help="1..V views of one object")
    parser.add_argument("--ckpt", type=Path, required=True, help="export folder (config.json) or Lightning .ckpt")
    parser.add_argument("--out", type=Path, required=True, help="output mesh (.obj/.ply/.stl/.glb/.off)")
    parser.add_argument("--class", dest="class_name", help="class of the object (conditional models)")
    parser.add_argument("--threshold", type=float, default=0.5, help="occupancy threshold (default 0.5)")
    parser.add_argument(
        "--resolution",
        type=int,
        help="grid cells per side of the extracted surface (implicit models: 32 x a power of two; default 128)",
    )
    parser.add_argument(
        "--camera",
        dest="cameras",
        action="append",
        type=Path,
        help="a camera JSON per image, in order (the format of `gan3d data render`'s <stem>_views/NNN.json): "
        "models that read cameras (PIFu, PIFuHD) then use the images as they are, through these cameras",
    )
    parser.add_argument(
        "--no-prepare",
        dest="prepare",
        action="store_false",
        help="feed the images as they are (default: find the object, crop, centre it on white, resize)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gan3d.errors import ConfigError
    from gan3d.pipelines.loading import ReconstructRequest, family_pipeline, load_model

    loaded = load_model(args.ckpt)
    pipeline = family_pipeline(loaded.family)
    cameras = getattr(args, "cameras", None)
    if cameras and not getattr(pipeline, "ACCEPTS_CAMERAS", False):
        raise ConfigError(f"{loaded.builder} does not read cameras: --camera does not apply")
    request = ReconstructRequest(
        args.images, args.out, args.class_name, args.threshold, args.prepare, getattr(args, "resolution", None), cameras
    )
    return pipeline.reconstruct_to_files(loaded, request)
