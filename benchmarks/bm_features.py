"""3D-GAN's representation result, in the limited-data setting where features matter: a linear SVM on
k training objects per class (k in --per-class, each a mean over --draws seeded draws; the untrained D is
re-initialised per draw), for the trained D, the same D untrained and raw voxels. One table, per class
for the smallest k.

    python benchmarks/bm_features.py --ckpt runs/gan_synth32/version_0/export --data data/synth
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--per-class", default="1,2,5,10,all")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()

    from gan3d.pipelines.features import classify
    from gan3d.pipelines.voxel_gan import load_model

    loaded = load_model(args.ckpt)
    rows, per_class = [], {}
    for text in args.per_class.split(","):
        k = None if text == "all" else int(text)
        runs = [classify(loaded, args.data, train_per_class=k, seed=s) for s in range(args.draws if k else 1)]
        names = list(runs[0].scores)
        acc = {n: [r.scores[n].accuracy for r in runs] for n in names}
        rows.append((text, runs[0].n_train, acc))
        if not per_class:
            per_class = {
                n: {c: np.mean([r.scores[n].per_class[c] for r in runs]) for c in runs[0].classes} for n in names
            }
        print(f"k={text} done", flush=True)
    names = list(rows[0][2])
    print("| train objects per class | train total | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for text, n_train, acc in rows:
        cells = [f"{np.mean(v):.3f} ± {np.std(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}" for v in acc.values()]
        print(f"| {text} | {n_train} | " + " | ".join(cells) + " |")
    print(f"\nper class, k = {rows[0][0]} (mean recall over draws)")
    print("| class | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for c in next(iter(per_class.values())):
        print(f"| {c} | " + " | ".join(f"{per_class[n][c]:.3f}" for n in names) + " |")


if __name__ == "__main__":
    main()
