"""Two-process DDP on CPU (gloo): the ranks see different data and end with identical weights."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch

from gan3d.data.datamodule import ShapeDataModule
from gan3d.training.vae_gan_module import VaeGanModule


class RecordRank(L.Callback):
    """Writes, per rank, the object ids it trained on and its final weights."""

    def __init__(self, out: str) -> None:
        self.out, self.ids = out, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        self.ids.extend(batch["id"])

    def on_train_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        from safetensors.torch import save_file

        rank = trainer.global_rank
        Path(self.out, f"ids_{rank}.json").write_text(json.dumps(self.ids))
        state = {k: v.contiguous() for k, v in pl_module.model.state_dict().items()}
        save_file(state, str(Path(self.out, f"w_{rank}.st")))


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")
def test_two_process_ddp_on_cpu(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    dm = ShapeDataModule(
        tmp_path / "data", 32, batch_size=2, classes=["bottle"], views=1, image_size=32, channels=1, synth_per_class=10
    )
    dm.prepare_data()
    module = VaeGanModule(
        "vae_gan_simple_32", {"channels": 1, "image_size": 32, "base_channels": 4}, d_accuracy_threshold=None
    )
    initial = {k: v.clone() for k, v in module.model.state_dict().items()}
    trainer = L.Trainer(
        accelerator="cpu",
        strategy="ddp_spawn",
        devices=2,
        max_steps=2,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[RecordRank(str(tmp_path))],
        default_root_dir=tmp_path,
    )
    trainer.fit(module, datamodule=dm)
    ids0 = json.loads((tmp_path / "ids_0.json").read_text())
    ids1 = json.loads((tmp_path / "ids_1.json").read_text())
    assert ids0 and ids1 and not set(ids0) & set(ids1), "both ranks trained on the same objects"
    w0, w1 = load_file(str(tmp_path / "w_0.st")), load_file(str(tmp_path / "w_1.st"))
    for name in w0:
        if "running_" in name or "num_batches" in name:
            continue  # BatchNorm statistics are per process (DDP syncs only parameters and, at forward, buffers)
        assert torch.equal(w0[name], w1[name]), f"{name} differs between ranks"
    assert any(not torch.equal(w0[k], initial[k]) for k in w0 if "weight" in k)  # it did train
