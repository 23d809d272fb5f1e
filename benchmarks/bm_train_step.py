"""Training-step speed of the paper's 3D-GAN on this machine, against its matmul peak.

Prints, in one run: the fp32 matmul peak (GFLOP/s); a plain PyTorch G + D step (Adam, batch as in the
paper: 20 at 32^3, 10 at 64^3) written straightforwardly here, and with each speed-up on its own
(D frozen in the G step, channels-last-3d, fused Adam, bf16 autocast); the same step through gan3d's
VaeGanModule (manual optimisation, adaptive rule off so D always steps) in the default layout, in
channels-last-3d (gan3d's default) and with `precision="bf16-mixed"`; each with its FLOPs counted by
`torch.utils.flop_counter`, as samples/s, achieved GFLOP/s as a fraction of the fp32 matmul peak,
and speed-up over the plain fp32 step.
Run by hand: `python benchmarks/bm_train_step.py [--res 32 64] [--steps 5]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan3d.training.quiet import quiet_lightning  # noqa: E402
from gan3d.training.vae_gan_module import VaeGanModule  # noqa: E402

BATCH = {32: 20, 64: 10}  # §2.6.4, §2.6.7


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def plain_step_fn(res: int, freeze: bool = False, channels_last: bool = False, bf16: bool = False, fused: bool = False):
    """A straightforward G + D step: the baseline any user would write. With `freeze`, D's weights
    stop requiring grad during the G step (what gan3d's toggled optimisers do): no wasted D grads.
    `channels_last` stores weights and batches NDHWC; `bf16` runs forward passes under bfloat16
    autocast; `fused` uses Adam's fused kernel instead of the default foreach one."""
    module = VaeGanModule(f"gan_{res}", d_accuracy_threshold=None, channels_last=channels_last)
    g, d = module.model.generator, module.model.discriminator
    opt_g = torch.optim.Adam(g.parameters(), lr=0.0025, betas=(0.5, 0.999), fused=fused or None)
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-5, betas=(0.5, 0.999), fused=fused or None)
    real = (torch.rand(BATCH[res], 1, res, res, res) > 0.7).float()
    if channels_last:
        real = real.contiguous(memory_format=torch.channels_last_3d)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    def step() -> None:
        z = torch.randn(BATCH[res], 200)
        with autocast:
            fake = g(z)
            d_loss = F.binary_cross_entropy_with_logits(
                d(real), torch.ones(BATCH[res])
            ) + F.binary_cross_entropy_with_logits(d(fake.detach()), torch.zeros(BATCH[res]))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if freeze:
            d.requires_grad_(False)
        with autocast:
            g_loss = F.binary_cross_entropy_with_logits(d(fake), torch.ones(BATCH[res]))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if freeze:
            d.requires_grad_(True)

    return step


def module_step_seconds(res: int, steps: int, precision: str = "32-true", channels_last: bool = True) -> float:
    """Seconds per training batch through gan3d's LightningModule under a real Trainer (manual
    optimisation): batch start to batch end, data loading between batches excluded, first batch
    (warm-up) dropped."""
    import lightning as L
    from torch.utils.data import DataLoader, Dataset

    class Grids(Dataset):
        def __len__(self) -> int:
            return 10_000

        def __getitem__(self, i: int) -> dict:
            return {"voxels": (torch.rand(1, res, res, res) > 0.7).float(), "label": 0}

    class Timer(L.Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_train_batch_start(self, *args) -> None:  # noqa: ANN002
            self.start = time.perf_counter()

        def on_train_batch_end(self, *args) -> None:  # noqa: ANN002
            self.times.append(time.perf_counter() - self.start)

    timer = Timer()
    module = VaeGanModule(f"gan_{res}", d_accuracy_threshold=None, channels_last=channels_last)
    trainer_kwargs = {
        "precision": precision,
        "max_epochs": 1,
        "limit_train_batches": steps + 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "limit_val_batches": 0,
        "callbacks": [timer],
    }
    with quiet_lightning():
        trainer = L.Trainer(**trainer_kwargs)
        trainer.fit(module, DataLoader(Grids(), batch_size=BATCH[res]))
    return sum(timer.times[1:]) / len(timer.times[1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--res", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    torch.manual_seed(0)
    peak = matmul_peak()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; fp32 matmul peak {peak:.1f} GFLOP/s")
    print(
        f"| {'step':<44} | {'batch':>5} | {'s/step':>7} | {'samples/s':>9} | {'GFLOP/step':>10} | "
        f"{'GFLOP/s':>8} | {'of peak':>7} | {'vs plain':>8} |"
    )
    print("|" + "---|" * 8)
    for res in args.res:
        plain_variants = (
            ("plain PyTorch", {}),
            ("plain, D frozen in G step", {"freeze": True}),
            ("plain, D frozen, channels-last-3d", {"freeze": True, "channels_last": True}),
            ("plain, D frozen, channels-last, fused Adam", {"freeze": True, "channels_last": True, "fused": True}),
            ("plain, D frozen, channels-last, bf16 autocast", {"freeze": True, "channels_last": True, "bf16": True}),
        )
        rows = []
        for name, options in plain_variants:
            step = plain_step_fn(res, **options)
            with FlopCounterMode(display=False) as counter:
                step()
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            rows.append((f"{name} {res}^3", (time.perf_counter() - start) / args.steps, counter.get_total_flops()))
        # gan3d's step does the frozen-D computation (toggled optimisers): count those FLOPs for it
        frozen_flops = rows[1][2]
        for name, precision, channels_last in (
            ("gan3d Lightning, default layout", "32-true", False),
            ("gan3d Lightning (channels-last-3d)", "32-true", True),
            ("gan3d Lightning, --trainer.precision bf16-mixed", "bf16-mixed", True),
        ):
            rows.append(
                (f"{name} {res}^3", module_step_seconds(res, args.steps, precision, channels_last), frozen_flops)
            )
        plain = rows[0][1]
        for name, seconds, flops in rows:
            rate = flops / seconds / 1e9
            print(
                f"| {name:<44} | {BATCH[res]:>5} | {seconds:>7.3f} | {BATCH[res] / seconds:>9.1f} | "
                f"{flops / 1e9:>10.1f} | {rate:>8.1f} | {rate / peak:>6.2f}x | {plain / seconds:>7.2f}x |",
                flush=True,
            )
        overhead = 100 * (rows[6][1] / rows[2][1] - 1)
        print(f"Lightning (channels-last) vs the same plain step (D frozen, channels-last): {overhead:+.1f}%")
    print("FLOPs by torch.utils.flop_counter on one step (bf16 steps do the same FLOPs, in bf16).")


if __name__ == "__main__":
    main()
