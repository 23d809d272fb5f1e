"""3D-GAN training recipes side by side: which one generates, on the same data, epochs and seed.

Each recipe is a set of `VaeGanModule` / model overrides on top of the paper's 3D-GAN (`gan_32` /
`gan_64`: BatchNorm D, Adam lr G 0.0025 / D 1e-5, beta1 0.5, adaptive D at 0.8). Every recipe trains the
same number of epochs on the same split with the same seed; then its generator is scored by
`gan3d.pipelines.evaluate_generation` against the held-out split (MMD/COV/1-NNA-CD, recognised among
all classes of the dataset, mean pairwise IoU, empty samples), beside the train split (ceiling) and
the mean shape (a collapse). Also printed: the wall time, the epoch-mean D accuracies (real / fake;
the share of epochs whose mean accuracy lies between chance 0.5 and 0.8) and the gen/ scores logged
during training.

Run by hand on the built-in data, e.g.
    gan3d data synth --out /tmp/synth --per-class 200 --views 0 --res 32,64
    python benchmarks/gan_recipes.py --data /tmp/synth --epochs 60 --out /tmp/recipes
Writes OUT/<recipe>/ (logs, export, scores.json) and OUT/table.md; `--recipes a,b` runs a subset; a
recipe whose scores.json exists is read back, not retrained (delete the folder to redo it).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# name -> (model_kwargs overrides, VaeGanModule overrides, batch size, what it is)
PAPER_MODULE = {"lr_g": 0.0025, "lr_d": 1e-5, "beta1": 0.5, "d_accuracy_threshold": 0.8}


def _r1(
    gamma: float,
    noise: float = 0.0,
    adaptive: float | None = None,
    binary: str = "none",
    ada: float | None = None,
    lr_d: float = 2e-4,
    lr_g: float = 2e-4,
    dropout: bool = False,
    lecam: float = 0.0,
    d_width: int | None = None,
    ema: float | None = None,
    noise_target: float | None = None,
    noise_levels: str = "batch",
    mbstd: bool = False,
) -> tuple[dict, dict, int, str]:
    """The R1 family: no BN in D, Adam lr 2e-4 both, beta1 0.5, R1 penalty gamma, optional instance
    noise on D's inputs (fixed, or held to a D accuracy), binary fakes for D, adaptive augmentation
    (ADA), a slower D or faster G, the §2.6.3 Dropout3d in G and D, the LeCam regulariser, a narrower D, a moving
    average of G (what is scored), ProGAN's minibatch spread in D and the paper's adaptive D rule."""
    module = {"lr_g": lr_g, "lr_d": lr_d, "beta1": 0.5, "d_accuracy_threshold": adaptive, "r1_gamma": gamma}
    what = f"no BN in D, lr G {lr_g:g} / D {lr_d:g}, R1 gamma {gamma:g}"
    if noise > 0:
        module["d_input_noise"] = noise
        what += f", instance noise {noise:g}"
    if noise_target is not None:
        module["noise_target"] = noise_target
        what += f", instance noise held to D accuracy {noise_target:g}"
    if noise_levels != "batch":
        module["noise_levels"] = noise_levels
        what += f" (each grid's std drawn from {noise_levels} [0, σ])"
    if binary != "none":
        module["d_binary_fakes"] = binary
        what += f", D sees binary fakes ({binary}, straight-through)"
    if ada is not None:
        module["ada_target"] = ada
        what += f", ADA towards D accuracy {ada:g}"
    if dropout:
        what += ", the §2.6.3 Dropout3d in G and D"
    if ema is not None:
        module["g_ema"] = ema
        what += f", G's moving average (decay {ema:g}) scored"
    if lecam > 0:
        module["lecam_weight"] = lecam
        what += f", LeCam lambda {lecam:g}"
    if adaptive is not None:
        what += f", adaptive D below {adaptive:g} (§2.3)"
    model: dict[str, Any] = {"d_norm": "none", "dropout": True} if dropout else {"d_norm": "none"}
    if d_width is not None:
        model["d_base_channels"] = d_width
        what += f", D width {d_width}"
    if mbstd:
        model["d_minibatch_std"] = True
        what += ", D reads the minibatch spread"
    return model, module, 32, what


RECIPES: dict[str, tuple[dict[str, Any], dict[str, Any], int, str]] = {
    "paper": ({}, PAPER_MODULE, 32, "paper (§2.3): BN D, lr 0.0025/1e-5, adaptive 0.8, batch 32"),
    "paper_b100": ({}, PAPER_MODULE, 100, "paper with its batch 100"),
    "bn_equal_lr": (
        {},
        {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "d_accuracy_threshold": None},
        32,
        "BN D, DCGAN lr 2e-4 both, no adaptive rule",
    ),
    "nobn_ttur": (
        {"d_norm": "none"},
        {"lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.5, "d_accuracy_threshold": None},
        32,
        "no BN in D, TTUR lr G 1e-4 / D 4e-4",
    ),
    "sn_ttur": (
        {"d_norm": "spectral"},
        {"lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.5, "d_accuracy_threshold": None},
        32,
        "spectral-norm D, TTUR lr G 1e-4 / D 4e-4",
    ),
    "nobn_r1": _r1(10.0),
    "nobn_r1_adaptive": _r1(10.0, adaptive=0.8),
    "sn_noise": (
        {"d_norm": "spectral"},
        {"lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.5, "d_accuracy_threshold": None, "d_input_noise": 0.1},
        32,
        "spectral-norm D, TTUR, instance noise 0.1 on D's inputs",
    ),
    "nobn_r1_g1": _r1(1.0),
    "nobn_r1_noise": _r1(10.0, noise=0.05),
    "nobn_r1_noise02": _r1(10.0, noise=0.2),
    "nobn_r1_g100": _r1(100.0),
    "nobn_r1_binary": _r1(10.0, binary="threshold"),
    "nobn_r1_bernoulli": _r1(10.0, binary="bernoulli"),
    "nobn_r1_ada": _r1(10.0, ada=0.7),
    "nobn_r1_binary_ada": _r1(10.0, binary="threshold", ada=0.7),
    "nobn_r1_dropout": _r1(10.0, dropout=True),
    "nobn_r1_binary_dropout": _r1(10.0, binary="threshold", dropout=True),
    "nobn_r1_lecam03": _r1(10.0, lecam=0.3),
    "nobn_r1_lecam1": _r1(10.0, lecam=1.0),
    "nobn_r1_narrow_d4": _r1(10.0, d_width=4),
    "nobn_r1_binary_narrow_d4": _r1(10.0, binary="threshold", d_width=4),
    "nobn_r1_binary_narrow_d6": _r1(10.0, binary="threshold", d_width=6),
    "nobn_r1_binary_narrow_d8": _r1(10.0, binary="threshold", d_width=8),
    "nobn_r1_ema": _r1(10.0, ema=0.999),
    "nobn_r1_ema99": _r1(10.0, ema=0.99),
    "nobn_r1_noise_target07": _r1(10.0, noise_target=0.7),
    "nobn_r1_binary_noise_target07": _r1(10.0, binary="threshold", noise_target=0.7),
    "nobn_r1_binary_noise_target075": _r1(10.0, binary="threshold", noise_target=0.75),
    "nobn_r1_uniform_noise_target07": _r1(10.0, noise_target=0.7, noise_levels="uniform"),
    "nobn_r1_binary_uniform_noise_target07": _r1(10.0, binary="threshold", noise_target=0.7, noise_levels="uniform"),
    "nobn_r1_binary_narrow_d4_noise_target07": _r1(10.0, binary="threshold", d_width=4, noise_target=0.7),
    "nobn_r1_binary_narrow_d8_noise_target07": _r1(10.0, binary="threshold", d_width=8, noise_target=0.7),
    "nobn_r1_binary_noise_target07_fast_g": _r1(10.0, binary="threshold", noise_target=0.7, lr_g=4e-4),
    "nobn_r1g1_binary_noise_target07": _r1(1.0, binary="threshold", noise_target=0.7),
    "nobn_r1_binary_noise_target07_mbstd": _r1(10.0, binary="threshold", noise_target=0.7, mbstd=True),
    "nobn_r1_mbstd": _r1(10.0, mbstd=True),
    "nobn_r1_slow_d": _r1(10.0, lr_d=2e-5),
    "nobn_r1_slower_d": _r1(10.0, lr_d=5e-6),
    "wgan_gp": (
        {"d_norm": "layer"},
        {
            "lr_g": 1e-4,
            "lr_d": 1e-4,
            "beta1": 0.5,
            "beta2": 0.9,
            "d_accuracy_threshold": None,
            "gan_loss": "wgan-gp",
            "d_steps": 5,
        },
        32,
        "WGAN-GP (3D-IWGAN): layer-norm critic, 5 critic steps, lr 1e-4, betas (0.5, 0.9), lambda 10",
    ),
}


def epoch_curves(metrics_csv: Path) -> dict[str, list[float]]:
    """Epoch-level columns of a Lightning CSV log: {column: values in epoch order}."""
    curves: dict[str, list[float]] = {}
    with open(metrics_csv) as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if value not in ("", None) and (key.endswith("_epoch") or key.startswith("gen/")):
                    curves.setdefault(key, []).append(float(value))
    return curves


def train_recipe(name: str, args: argparse.Namespace) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from gan3d.data.datamodule import ShapeDataModule
    from gan3d.pipelines.evaluate_generation import evaluate_generation
    from gan3d.pipelines.loading import load_model
    from gan3d.training.quiet import quiet_lightning
    from gan3d.training.vae_gan_module import VaeGanModule

    model_kwargs, module_kwargs, batch, what = RECIPES[name]
    out = args.out / name
    if (out / "scores.json").exists():  # trained by an earlier run of the same table: reuse it
        return json.loads((out / "scores.json").read_text())
    torch.manual_seed(args.seed)
    module = VaeGanModule(
        model=f"gan_{args.res}",
        model_kwargs={"base_channels": args.base_channels, **model_kwargs},
        preview_every_n_epochs=0,
        generation_every_n_epochs=args.gen_every,
        seed=args.seed,
        **module_kwargs,
    )
    classes = args.classes.split(",")
    data = ShapeDataModule(args.data, args.res, batch, classes, views=0, synthesize=False, seed=args.seed)
    quiet_lightning()
    trainer = L.Trainer(
        max_epochs=args.epochs,
        logger=CSVLogger(out, name="logs", version=0),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        deterministic=False,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=data)
    minutes = (time.perf_counter() - start) / 60
    module.export_pretrained(out / "export", best=False)  # the last weights: no selection on the scored split
    scores = evaluate_generation(load_model(out / "export"), args.data, "test", args.points)
    curves = epoch_curves(out / "logs" / "version_0" / "metrics.csv")
    real, fake = curves.get("train/d_acc_real_epoch", []), curves.get("train/d_acc_fake_epoch", [])
    mean_acc = [(r + f) / 2 for r, f in zip(real, fake, strict=False)]
    clean_real, clean_fake = (
        curves.get("train/d_acc_real_clean_epoch", []),
        curves.get("train/d_acc_fake_clean_epoch", []),
    )
    result = {
        "recipe": name,
        "what": what,
        "epochs": trainer.current_epoch,
        "minutes": minutes,
        "d_acc_real": sum(real) / max(len(real), 1),
        "d_acc_fake": sum(fake) / max(len(fake), 1),
        "epochs_between_chance_and_0.8": sum(0.5 <= a <= 0.8 for a in mean_acc) / max(len(mean_acc), 1),
        "d_acc_real_clean": sum(clean_real) / len(clean_real) if clean_real else None,
        "d_acc_fake_clean": sum(clean_fake) / len(clean_fake) if clean_fake else None,
        "ada_p": curves.get("train/ada_p_epoch", [None])[-1],
        "noise_sigma": curves.get("train/noise_sigma_epoch", [None])[-1],
        "d_skipped": module.d_skipped,
        "curves": {k: v for k, v in curves.items() if k.startswith("gen/")},
        **scores,
    }
    (out / "scores.json").write_text(json.dumps(result, indent=1))
    return result


def row(r: dict[str, Any]) -> str:
    m = r["model"]
    rec = m.get("recognised")
    acc = f"{r['d_acc_real']:.2f} / {r['d_acc_fake']:.2f}"
    if r.get("d_acc_real_clean") is not None:  # ADA / noise: D's accuracy on the grids as they are, the last p / σ
        control = f"p {r['ada_p']:.2f}" if r.get("ada_p") is not None else f"σ {r['noise_sigma']:.2f}"
        acc += f" (clean {r['d_acc_real_clean']:.2f} / {r['d_acc_fake_clean']:.2f}, {control})"
    return (
        f"| {r['recipe']} | {r['epochs']} | {r['minutes']:.1f} | {acc} | "
        f"{r['epochs_between_chance_and_0.8']:.0%} | {m['mmd_cd'] * 1e3:.2f} | {m['cov_cd']:.0%} | {m['nna_cd']:.0%} | "
        f"{'-' if rec is None else f'{rec:.0%}'} | {m['diversity_mean_pairwise_iou']:.2f} | {m['empty']:.0%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset root (gan3d data synth output)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated subset of {', '.join(RECIPES)}")
    parser.add_argument("--classes", default="chair")
    parser.add_argument("--res", type=int, default=32, choices=(32, 64))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--base-channels", type=int, default=32, help="network width (64 is the paper's)")
    parser.add_argument("--gen-every", type=int, default=10, help="training-time gen/ scores every N epochs")
    parser.add_argument("--points", type=int, default=1024, help="surface points per shape for the final scores")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    header = (
        "| recipe | epochs | min | D acc real / fake | epochs in [0.5, 0.8] | MMD-CD ×1e3 | COV-CD | 1-NNA-CD | "
        "recognised | pairwise IoU | empty |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines, references = [header], None
    for name in args.recipes.split(","):
        result = train_recipe(name.strip(), args)
        lines.append(row(result))
        references = result
        print(lines[-1], flush=True)
    assert references is not None
    for ref in ("train_split", "mean_shape"):
        lines.append(row({**references, "recipe": f"({ref})", "model": references[ref], "minutes": 0.0}))
    table = "\n".join(lines)
    (args.out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
