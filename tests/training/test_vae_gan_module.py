from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from gan3d.data.datamodule import ShapeDataModule
from gan3d.training.vae_gan_module import VaeGanModule

SMALL = {"channels": 1, "image_size": 32, "base_channels": 4}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    ShapeDataModule(
        root, 32, batch_size=4, classes=["chair"], views=1, image_size=32, synth_per_class=10
    ).prepare_data()
    return root


def _datamodule(root: Path, **overrides) -> ShapeDataModule:
    kwargs = {
        "resolution": 32,
        "batch_size": 4,
        "classes": ["chair"],
        "views": 1,
        "image_size": 32,
        "channels": 1,
        "synth_per_class": 10,
        **overrides,
    }
    return ShapeDataModule(root, **kwargs)


def _fit(module: VaeGanModule, dm: ShapeDataModule, tmp_path: Path, **trainer_kwargs) -> L.Trainer:
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **{"max_steps": 1, "limit_val_batches": 0, "enable_checkpointing": False, **trainer_kwargs},
    )
    trainer.fit(module, datamodule=dm)
    return trainer


def _record_d_inputs_and_g_outputs(module: VaeGanModule) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Copies of every grid D is called on and every batch G makes, in call order, as training runs."""
    inputs: list[torch.Tensor] = []
    module.model.discriminator.register_forward_hook(lambda mod, args, out: inputs.append(args[0].detach().clone()))
    generated: list[torch.Tensor] = []
    module.model.generator.register_forward_hook(lambda mod, args, out: generated.append(out.detach().clone()))
    return inputs, generated


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("threshold,should_step", [(0.0, False), (None, True)])
def test_adaptive_rule(data_root: Path, tmp_path: Path, threshold: float | None, should_step: bool) -> None:
    torch.manual_seed(0)
    module = VaeGanModule("vae_gan_simple_32", SMALL, d_accuracy_threshold=threshold)
    before = _params(module.model.discriminator)
    g_before = _params(module.model.generator)
    _fit(module, _datamodule(data_root), tmp_path)
    changed = any(not torch.equal(a, b) for a, b in zip(before, _params(module.model.discriminator), strict=True))
    assert changed == should_step
    assert module.d_skipped == (0 if should_step else 1)  # accuracy >= 0.0 always: the step is skipped
    assert any(not torch.equal(a, b) for a, b in zip(g_before, _params(module.model.generator), strict=True))


def test_pure_gan_and_conditional_fast_dev_run(data_root: Path, tmp_path: Path) -> None:
    _fit(VaeGanModule("gan_32", {"base_channels": 4}), _datamodule(data_root, views=0), tmp_path, max_steps=2)
    module = VaeGanModule(
        "cond_vae_gan_64",
        {**SMALL, "num_classes": 1, "resolution": 32},
        soft_labels=True,
        recon_in_adversarial=True,
        ssim_weight=1.0,
        class_names=["chair"],
    )
    trainer = _fit(module, _datamodule(data_root), tmp_path, max_steps=-1, fast_dev_run=True)
    assert trainer.state.finished


def test_multiview_training_step(data_root: Path, tmp_path: Path) -> None:
    module = VaeGanModule("multiview_vae_gan_64", {**SMALL, "resolution": 32, "fusion": "lstm"})
    trainer = _fit(module, _datamodule(data_root, views=3), tmp_path, max_steps=-1, fast_dev_run=True)
    assert trainer.state.finished


def test_resume_gives_the_same_weights(data_root: Path, tmp_path: Path) -> None:
    def run(epochs: int, ckpt: str | None, root: Path) -> tuple[VaeGanModule, L.Trainer]:
        torch.manual_seed(0)
        module = VaeGanModule("vae_gan_simple_32", SMALL, soft_labels=True)
        trainer = L.Trainer(
            default_root_dir=root,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            max_epochs=epochs,
            limit_val_batches=0,
            num_sanity_val_steps=0,
        )
        trainer.fit(module, datamodule=_datamodule(data_root), ckpt_path=ckpt)
        return module, trainer

    straight, _ = run(2, None, tmp_path / "a")
    first, trainer = run(1, None, tmp_path / "b")
    ckpt = tmp_path / "b" / "epoch1.ckpt"
    trainer.save_checkpoint(ckpt)
    resumed, _ = run(2, str(ckpt), tmp_path / "c")
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} differs after resuming"
    assert not all(
        torch.equal(a, b) for a, b in zip(straight.state_dict().values(), first.state_dict().values(), strict=True)
    )


def test_channels_last_computes_the_same_as_the_default_layout(data_root: Path) -> None:
    """Layout is not algorithm: the same start gives the same forward pass and the same gradients, to
    float noise (compared before any optimiser step, which would amplify kernel-order differences)."""
    batch = next(iter(_loader(data_root)))
    results = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        module = VaeGanModule("vae_gan_simple_32", SMALL, channels_last=channels_last)
        model = module.model.train()
        voxels = module._layout(batch["voxels"])
        torch.manual_seed(1)
        z = torch.randn(len(voxels), model.latent_dim)
        fake = model.generate(z)
        recon = model.generate(model.encode(batch["images"][:, 0])[0])
        loss = model.discriminator(fake).mean() + model.discriminator(voxels).mean() + (recon - voxels).square().mean()
        loss.backward()
        results.append((fake.detach(), [p.grad.detach().clone() for p in model.parameters()], module))
    conv = results[1][2].model.generator.net[0].weight
    assert conv.ndim == 5 and conv.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(results[0][0], results[1][0], rtol=0, atol=1e-5)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def _loader(root: Path):  # noqa: ANN202
    dm = _datamodule(root)
    dm.setup()
    return dm.train_dataloader()


@pytest.mark.parametrize("soft", [False, True])
def test_soft_labels_are_the_targets_of_both_steps(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, soft: bool
) -> None:
    import gan3d.training.vae_gan_module as module_file

    targets: list[torch.Tensor] = []
    real_bce = module_file.bce_with_targets
    monkeypatch.setattr(module_file, "bce_with_targets", lambda logits, t: targets.append(t) or real_bce(logits, t))
    module = VaeGanModule("vae_gan_simple_32", SMALL, soft_labels=soft, d_accuracy_threshold=None)
    _fit(module, _datamodule(data_root), tmp_path, max_steps=2)
    values = torch.cat(targets)
    if soft:  # §2.6.3: real ~ U[0.7, 1.2], fake ~ U[0, 0.3]
        assert ((values >= 0) & (values <= 0.3) | (values >= 0.7) & (values <= 1.2)).all()
        assert len(values.unique()) > 4
    else:
        assert set(values.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("on", [False, True])
def test_recon_in_adversarial_scores_the_reconstructions_in_the_generator_step(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on: bool
) -> None:
    module = VaeGanModule("vae_gan_simple_32", SMALL, recon_in_adversarial=on, d_accuracy_threshold=None)
    calls = []
    module.model.discriminator.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    _fit(module, _datamodule(data_root), tmp_path, max_steps=1)
    assert len(calls) == (4 if on else 3)  # D(real), D(fake) for D; D(fake) (+ D(recon)) for G


@pytest.mark.parametrize("weight", [0.0, 2.0])
def test_ssim_weight_adds_the_ssim_loss_to_encoder_and_generator(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weight: float
) -> None:
    import gan3d.training.vae_gan_module as module_file

    values: list[float] = []
    real = module_file.ssim_loss
    monkeypatch.setattr(module_file, "ssim_loss", lambda a, b: (lambda v: values.append(float(v)) or v)(real(a, b)))
    module = VaeGanModule("vae_gan_simple_32", SMALL, ssim_weight=weight, d_accuracy_threshold=None, kl_weight=0.0)
    logged: dict[str, float] = {}
    real_log = module.log_dict
    monkeypatch.setattr(
        module, "log_dict", lambda d, **kw: logged.update({k: float(v) for k, v in d.items()}) or real_log(d, **kw)
    )
    _fit(module, _datamodule(data_root), tmp_path, max_steps=1)
    if weight == 0:
        assert values == []
    else:
        assert len(values) == 2  # once in the encoder's loss, once in the generator's
        # with KL off, the encoder's loss is recon + weight * (1 - SSIM)
        assert logged["train/e_loss"] == pytest.approx(logged["train/recon"] + weight * values[0], rel=1e-5)


def test_bf16_mixed_precision_steps(data_root: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = VaeGanModule("vae_gan_simple_32", SMALL, d_accuracy_threshold=None)
    before = _params(module.model)
    trainer = _fit(module, _datamodule(data_root), tmp_path, max_steps=2, precision="bf16-mixed")
    after = _params(module.model)
    assert all(p.dtype == torch.float32 for p in after), "mixed precision keeps fp32 master weights"
    assert all(torch.isfinite(p).all() for p in after)
    assert sum(not torch.equal(a, b) for a, b in zip(before, after, strict=True)) > len(before) // 2
    assert torch.isfinite(trainer.callback_metrics["train/g_loss"])


def test_the_export_holds_the_best_validated_weights_and_says_which(data_root: Path, tmp_path: Path) -> None:
    import csv
    import json

    from lightning.pytorch.loggers import CSVLogger

    from gan3d.pipelines.evaluate_model import evaluate_reconstruction
    from gan3d.pipelines.loading import load_model
    from gan3d.training.callbacks import InferenceExportCallback

    module = VaeGanModule("vae_gan_simple_32", SMALL, lr_g=0.01, lr_e=0.01, preview_every_n_epochs=0)
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        logger=CSVLogger(tmp_path, name="run"),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_epochs=4,
        num_sanity_val_steps=0,
        callbacks=[InferenceExportCallback()],
    )
    trainer.fit(module, datamodule=_datamodule(data_root))
    with open(Path(trainer.log_dir) / "metrics.csv") as fh:
        val = [(int(r["epoch"]), float(r["val/iou"])) for r in csv.DictReader(fh) if r.get("val/iou")]
    assert len(val) == 4
    best_epoch, best_iou = max(val, key=lambda e: e[1])
    export = Path(trainer.log_dir) / "export"
    weights = json.loads((export / "config.json").read_text())["weights"]
    assert weights["source"] == "best validation" and weights["epoch"] == best_epoch + 1
    assert weights["val_iou"] == pytest.approx(best_iou, abs=1e-6)
    # the exported weights score what the export claims, evaluated from the files
    scores = evaluate_reconstruction(load_model(export), data_root, "test", views=1)
    assert scores["overall"]["iou"] == pytest.approx(weights["val_iou"], abs=1e-4)


def test_a_collapse_is_said_and_the_best_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    module = VaeGanModule("vae_gan_simple_32", SMALL)
    fake = SimpleNamespace(sanity_checking=False, callback_metrics={}, current_epoch=0, global_step=0)
    monkeypatch.setattr(type(module), "trainer", property(lambda self: fake))
    monkeypatch.setattr(module, "_trainer", fake)  # current_epoch and global_step read it
    monkeypatch.setattr(module, "log", lambda *a, **k: None)
    first = {k: v.clone() for k, v in module.model.state_dict().items()}
    fake.callback_metrics["val/iou"] = torch.tensor(0.6)
    module.on_validation_epoch_end()
    with torch.no_grad():
        for p in module.model.parameters():
            p.add_(1.0)  # the weights move on...
    fake.current_epoch, fake.global_step = 1, 10
    fake.callback_metrics["val/iou"] = torch.tensor(0.05)  # ... and the model falls off a cliff
    with pytest.warns(UserWarning, match=r"fell from 0.600 \(epoch 1\) to 0.050 \(epoch 2\)"):
        module.on_validation_epoch_end()
    assert module.collapses == [2]
    record = module.load_best_weights()
    assert record == {"source": "best validation", "epoch": 1, "step": 0, "val_iou": pytest.approx(0.6)}
    for k, v in module.model.state_dict().items():
        assert torch.equal(v, first[k]), k


def _scored_gan(**overrides) -> VaeGanModule:
    """A tiny pure 3D-GAN whose generation is scored every epoch."""
    kwargs = {"lr_g": 0.01, "d_accuracy_threshold": None, "preview_every_n_epochs": 0, "generation_every_n_epochs": 1}
    return VaeGanModule("gan_32", {"base_channels": 4, "d_norm": "none"}, **{**kwargs, **overrides})


def test_a_pure_gan_exports_its_best_generation_scores_and_says_when_coverage_collapses(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three epochs with scripted gen/ scores: the export holds the weights of the epoch with the lowest
    1-NNA (epoch 2; epoch 3 ties on it and loses on coverage) and says so; coverage falling under half
    the kept epoch's at epoch 3 is reported as a collapse."""
    from gan3d.registry import load_pretrained
    from gan3d.training.generation_metrics import GenerationMetricsCallback

    script = iter([{"nna_cd": 1.0, "cov_cd": 0.5}, {"nna_cd": 0.8, "cov_cd": 0.4}, {"nna_cd": 0.8, "cov_cd": 0.1}])
    snapshots: list[dict[str, torch.Tensor]] = []

    def scripted(self, pl_module, reference, labels):  # noqa: ANN001, ANN202
        snapshots.append({k: v.detach().clone() for k, v in pl_module.model.state_dict().items()})
        return {**next(script), "mmd_cd": 0.01, "diversity_mean_pairwise_iou": 0.3}

    monkeypatch.setattr(GenerationMetricsCallback, "score", scripted)
    module = _scored_gan()
    with pytest.warns(UserWarning, match=r"gen/cov_cd fell from 0.400 \(epoch 2\) to 0.100 \(epoch 3\)"):
        _fit(module, _datamodule(data_root, views=0), tmp_path, max_steps=-1, max_epochs=3)
    assert len(snapshots) == 3 and module.collapses == [3]
    assert not torch.equal(snapshots[1]["generator.net.0.weight"], snapshots[2]["generator.net.0.weight"])
    module.export_pretrained(tmp_path / "export")
    model, config = load_pretrained(tmp_path / "export")
    weights = config["weights"]
    assert weights["source"] == "best generation score" and weights["epoch"] == 2
    assert weights["gen_nna_cd"] == pytest.approx(0.8) and weights["gen_cov_cd"] == pytest.approx(0.4)
    for name, value in model.state_dict().items():
        assert torch.equal(value, snapshots[1][name]), name
    module.export_pretrained(tmp_path / "last", best=False)  # what benchmarks/gan_recipes.py scores
    model, config = load_pretrained(tmp_path / "last")
    assert config["weights"]["source"] == "end of training"
    for name, value in model.state_dict().items():
        assert torch.equal(value, module.model.state_dict()[name]), name


def test_the_generator_moving_average_follows_the_formula_and_is_what_inference_sees(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """g_ema = 0.75 over two steps: ema = 0.75·(0.75·G0 + 0.25·G1) + 0.25·G2, from G's weights after each step
    (by hand); the gen/ scores, the export and a `.ckpt` loaded for inference hold it; training resumes
    with the live weights."""
    from gan3d.pipelines.loading import load_model
    from gan3d.registry import load_pretrained
    from gan3d.training.generation_metrics import GenerationMetricsCallback
    from gan3d.training.voxel_previews import SampleSheetCallback

    module = _scored_gan(g_ema=0.75)
    live = [_params(module.model.generator)]  # G0, then G after each of its steps
    update = module._update_generator_ema
    record = lambda: (live.append(_params(module.model.generator)), update())[1]  # noqa: E731
    monkeypatch.setattr(module, "_update_generator_ema", record)
    scored: list[list[torch.Tensor]] = []
    monkeypatch.setattr(
        GenerationMetricsCallback,
        "score",
        lambda self, m, ref, lab: scored.append(_params(m.model.generator)) or {"nna_cd": 1.0, "cov_cd": 0.5},
    )
    dm = _datamodule(data_root, views=0, synth_per_class=10, batch_size=8)  # 8 training chairs: one step per epoch
    trainer = _fit(module, dm, tmp_path, max_steps=-1, max_epochs=2, enable_checkpointing=True)
    assert len(live) == 3
    expected = [0.5625 * g0 + 0.1875 * g1 + 0.25 * g2 for g0, g1, g2 in zip(*live, strict=True)]
    for average, want in zip(module.generator_ema.parameters(), expected, strict=True):
        torch.testing.assert_close(average, want)
    for now, last in zip(module.model.generator.parameters(), live[2], strict=True):
        assert torch.equal(now, last)  # the live weights are back after scoring and export
    assert not torch.equal(expected[0], live[2][0])
    for seen, want in zip(scored[1], expected, strict=True):  # epoch 2's gen/ scores: the average
        torch.testing.assert_close(seen, want)
    drawn: list[list[torch.Tensor]] = []
    module.model.generator.register_forward_pre_hook(lambda mod, args: drawn.append(_params(mod)))
    SampleSheetCallback(n_samples=2).draw(trainer, module, 3)  # the sample sheet: the average too
    for seen, want in zip(drawn[0], expected, strict=True):
        torch.testing.assert_close(seen, want)
    module.export_pretrained(tmp_path / "export", best=False)
    model, config = load_pretrained(tmp_path / "export")
    assert config["weights"]["generator"] == "moving average, decay 0.75"
    for exported, want in zip(model.generator.parameters(), expected, strict=True):
        torch.testing.assert_close(exported, want)
    # the average's own BatchNorm statistics, by hand for the first layer: its outputs on the seeded noise
    noise = torch.Generator().manual_seed(0)
    outputs = [
        torch.nn.functional.conv_transpose3d(torch.randn(32, 200, generator=noise).view(32, 200, 1, 1, 1), expected[0])
        for _ in range(8)
    ]
    mean = torch.stack([o.mean(dim=(0, 2, 3, 4)) for o in outputs]).mean(0)
    var = torch.stack([o.var(dim=(0, 2, 3, 4)) for o in outputs]).mean(0)
    module.model.generator.net[1].running_mean.fill_(7.0)  # the live statistics, marked
    with module.inference_weights():
        torch.testing.assert_close(module.model.generator.net[1].running_mean, mean)
        torch.testing.assert_close(module.model.generator.net[1].running_var, var)
    assert (module.model.generator.net[1].running_mean == 7.0).all()  # the live statistics are back
    checkpoint = next(tmp_path.rglob("*.ckpt"))
    loaded = load_model(checkpoint).model
    for restored, want in zip(loaded.generator.parameters(), expected, strict=True):
        torch.testing.assert_close(restored.detach(), want)
    torch.testing.assert_close(loaded.generator.net[1].running_mean, mean)
    torch.testing.assert_close(loaded.generator.net[1].running_var, var)


def test_a_checkpoint_holds_the_moving_averages_own_statistics_without_a_scored_epoch(
    data_root: Path, tmp_path: Path
) -> None:
    """Nothing samples from the average during training (no gen/ scores, no sheets): the checkpoint still
    carries BatchNorm statistics estimated for the average, not the ones it started with."""
    from gan3d.pipelines.loading import load_model

    module = _scored_gan(g_ema=0.75, generation_every_n_epochs=0)
    dm = _datamodule(data_root, views=0, synth_per_class=10, batch_size=8)
    _fit(module, dm, tmp_path, max_steps=-1, max_epochs=1, enable_checkpointing=True)
    loaded = load_model(next(tmp_path.rglob("*.ckpt"))).model
    with module.inference_weights():
        fitted = {k: v.clone() for k, v in module.model.generator.named_buffers()}
    for name, saved in loaded.generator.named_buffers():
        torch.testing.assert_close(saved, fitted[name], msg=name)
    assert float(loaded.generator.net[1].running_var.sub(1).abs().max()) > 1e-3  # not the initial statistics


def test_g_ema_settings_are_checked() -> None:
    from gan3d.errors import ConfigError

    for decay in (0.0, 1.0):
        with pytest.raises(ConfigError, match="g_ema"):
            VaeGanModule("gan_32", {"base_channels": 4}, g_ema=decay)
    with pytest.raises(ConfigError, match="pure 3D-GAN"):
        VaeGanModule("vae_gan_simple_32", SMALL, g_ema=0.999)


def test_gan_loss_settings_are_checked() -> None:
    from gan3d.errors import ConfigError

    with pytest.raises(ConfigError, match="'bce' or 'wgan-gp'"):
        VaeGanModule("gan_32", {"base_channels": 4}, gan_loss="hinge")
    with pytest.raises(ConfigError, match="d_accuracy_threshold to null"):
        VaeGanModule("gan_32", {"base_channels": 4}, gan_loss="wgan-gp", d_accuracy_threshold=0.8)


def test_wgan_gp_critic_steps_see_fresh_samples_and_its_loss_is_the_formula(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """d_steps=3: three critic steps, each on D(real), D(fake) and D(x̂) of the penalty, the fakes of
    the later steps drawn from fresh z; the logged critic loss is −(E D(x) − E D(G(z))) + 10·GP."""
    import gan3d.training.vae_gan_module as module_file

    penalties: list[float] = []
    real_gp = module_file.gradient_penalty
    monkeypatch.setattr(
        module_file, "gradient_penalty", lambda *a: (lambda v: penalties.append(float(v.detach())) or v)(real_gp(*a))
    )
    module = VaeGanModule(
        "gan_32", {"base_channels": 4, "d_norm": "layer"}, gan_loss="wgan-gp", d_accuracy_threshold=None, d_steps=3
    )
    inputs: list[torch.Tensor] = []
    module.model.discriminator.register_forward_hook(lambda mod, args, out: inputs.append(args[0].detach().clone()))
    logged: dict[str, float] = {}
    real_log = module.log_dict
    monkeypatch.setattr(
        module, "log_dict", lambda d, **kw: logged.update({k: float(v) for k, v in d.items()}) or real_log(d, **kw)
    )
    _fit(module, _datamodule(data_root, views=0), tmp_path, max_steps=1)
    assert len(inputs) == 3 * 3 + 1 and len(penalties) == 3
    fakes = [inputs[3 * k + 1] for k in range(3)]
    assert torch.equal(inputs[0], inputs[3]) and torch.equal(inputs[3], inputs[6])  # the same real batch
    assert not torch.equal(fakes[0], fakes[1]) and not torch.equal(fakes[1], fakes[2])
    torch.testing.assert_close(fakes[0], inputs[-1])  # G's step scores the first (reused) G(z)
    assert logged["train/d_loss"] == pytest.approx(-logged["train/wasserstein"] + 10 * penalties[-1], rel=1e-4)


def test_r1_penalty_is_added_to_the_bce_loss(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gan3d.training.vae_gan_module as module_file

    penalties: list[float] = []
    real_r1 = module_file.r1_penalty
    monkeypatch.setattr(
        module_file, "r1_penalty", lambda *a: (lambda v: penalties.append(float(v.detach())) or v)(real_r1(*a))
    )
    losses: list[float] = []
    real_bce = module_file.bce_with_targets
    monkeypatch.setattr(
        module_file,
        "bce_with_targets",
        lambda logits, t: (lambda v: losses.append(float(v.detach())) or v)(real_bce(logits, t)),
    )
    module = VaeGanModule("gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, r1_gamma=4.0)
    logged: dict[str, float] = {}
    real_log = module.log_dict
    monkeypatch.setattr(
        module, "log_dict", lambda d, **kw: logged.update({k: float(v) for k, v in d.items()}) or real_log(d, **kw)
    )
    _fit(module, _datamodule(data_root, views=0), tmp_path, max_steps=1)
    assert len(penalties) == 1 and penalties[0] > 0
    assert logged["train/d_loss"] == pytest.approx(losses[0] + losses[1] + 0.5 * 4.0 * penalties[0], rel=1e-5)


def test_generation_scores_are_logged_during_training(data_root: Path, tmp_path: Path) -> None:
    """generation_every_n_epochs=1 puts gen/ scores in the log every epoch (a collapse is visible in
    TensorBoard); an untrained generator's samples are all alike, unlike the held-out chairs."""
    import csv

    from lightning.pytorch.loggers import CSVLogger

    module = VaeGanModule("gan_32", {"base_channels": 4}, generation_every_n_epochs=1, preview_every_n_epochs=0)
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        logger=CSVLogger(tmp_path, name="log", version=0),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_epochs=2,
        limit_train_batches=1,
    )
    trainer.fit(module, datamodule=_datamodule(data_root, views=0))
    rows = list(csv.DictReader(open(tmp_path / "log" / "version_0" / "metrics.csv")))
    scored = [r for r in rows if r.get("gen/cov_cd")]
    assert len(scored) == 2  # epochs 1 and 2
    for key in ("gen/mmd_cd", "gen/nna_cd", "gen/diversity_mean_pairwise_iou", "gen/empty"):
        assert all(r[key] != "" for r in scored)
    assert float(scored[-1]["gen/nna_cd"]) > 0.75  # untrained samples are told apart from real chairs


@pytest.mark.parametrize("sigma", [0.0, 0.2])
def test_instance_noise_reaches_every_d_input_in_training(data_root: Path, tmp_path: Path, sigma: float) -> None:
    """d_input_noise: D's real and fake inputs carry N(0, σ²) noise in both steps (so exact 0/1 values no
    longer tell a real grid); without it the real grids reach D as they are."""
    module = VaeGanModule(
        "gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, d_input_noise=sigma
    )
    inputs, generated = _record_d_inputs_and_g_outputs(module)
    _fit(module, _datamodule(data_root, views=0), tmp_path, max_steps=1, limit_val_batches=0)
    real, fake_d, fake_g = inputs[0], inputs[1], inputs[2]
    binary = ((real == 0) | (real == 1)).float().mean()
    fake = generated[0]  # G's probabilities
    if sigma == 0:
        assert binary == 1.0 and torch.allclose(fake_d, fake_g)
    else:
        assert binary < 0.01
        for seen in (fake_d, fake_g):  # noise of the asked size around G's output, fresh per step
            assert abs(float((seen - fake).std()) - sigma) < 0.02
        assert not torch.allclose(fake_d, fake_g)


@pytest.mark.parametrize("mode", ["none", "threshold"])
def test_binary_fakes_reach_d_in_both_steps_and_g_still_gets_a_gradient(
    data_root: Path, tmp_path: Path, mode: str
) -> None:
    """d_binary_fakes: D's fake inputs in its own step and in G's step are G's output thresholded at 0.5
    (real grids unchanged), and G still learns through them (its weights move in the first step)."""
    module = VaeGanModule(
        "gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, d_binary_fakes=mode
    )
    inputs, generated = _record_d_inputs_and_g_outputs(module)
    before = [w.detach().clone() for w in module.model.generator.parameters()]
    _fit(module, _datamodule(data_root, views=0), tmp_path, max_steps=1, limit_val_batches=0)
    real, fake_d, fake_g = inputs[0], inputs[1], inputs[2]
    fake = generated[0]  # G's probabilities
    assert ((real == 0) | (real == 1)).all()
    expected = (fake > 0.5).float() if mode == "threshold" else fake
    torch.testing.assert_close(fake_d, expected)
    torch.testing.assert_close(fake_g, expected)
    assert any(not torch.equal(b, a) for b, a in zip(before, module.model.generator.parameters(), strict=True))


def test_an_unknown_binary_fakes_mode_is_refused() -> None:
    from gan3d.errors import ConfigError

    with pytest.raises(ConfigError, match="d_binary_fakes"):
        VaeGanModule("gan_32", {"base_channels": 4}, d_binary_fakes="round")


def test_ada_augments_what_d_sees_logs_the_clean_accuracy_and_resumes_p(data_root: Path, tmp_path: Path) -> None:
    """With p > 0 every D input in training (real and fake, D's and G's step) is a transformed grid: the
    real one differs from the batch but keeps its 0/1 values; the accuracy on clean grids and p are logged,
    p moves after the step and is restored from a checkpoint."""
    module = VaeGanModule(
        "gan_32",
        {"base_channels": 4, "d_norm": "none"},
        d_accuracy_threshold=None,
        ada_target=0.6,
        d_binary_fakes="threshold",
    )
    module.ada_p = 0.8
    inputs, generated = _record_d_inputs_and_g_outputs(module)
    batches: list[torch.Tensor] = []
    start = module.on_train_batch_start
    module.on_train_batch_start = lambda batch, i: (batches.append(batch["voxels"].clone()), start(batch, i))[1]  # type: ignore[method-assign]
    logged: dict[str, float] = {}
    original_log_dict = module.log_dict
    module.log_dict = lambda d, **kw: (logged.update({k: float(v) for k, v in d.items()}), original_log_dict(d, **kw))  # type: ignore[method-assign]
    _fit(module, _datamodule(data_root, views=0), tmp_path, max_steps=1, limit_val_batches=0)
    # forward order in the D step: clean real, clean fake (no grad), augmented real, augmented fake, R1 none
    clean_real, augmented_real = inputs[0], inputs[2]
    torch.testing.assert_close(clean_real, batches[0].to(clean_real.dtype))
    assert not torch.equal(augmented_real, clean_real)
    assert ((augmented_real == 0) | (augmented_real == 1)).all()
    hard_fake = (generated[0] > 0.5).to(inputs[1].dtype)
    torch.testing.assert_close(inputs[1], hard_fake)
    for seen in (inputs[3], inputs[4]):  # D's step and G's step
        assert not torch.equal(seen, hard_fake) and ((seen == 0) | (seen == 1)).all()
    assert {"train/d_acc_real_clean", "train/d_acc_fake_clean", "train/ada_p"} <= set(logged)
    assert logged["train/ada_p"] == pytest.approx(0.8)  # p as the step used it
    assert module.ada_p != 0.8  # then moved by the rule (one way or the other)
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    fresh = VaeGanModule("gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, ada_target=0.6)
    fresh.on_load_checkpoint(checkpoint)
    assert fresh.ada_p == module.ada_p


def test_ada_turns_grids_about_the_configured_up_axis(monkeypatch: pytest.MonkeyPatch) -> None:
    """D's view passes p and `ada_up_axis` to the augmentation (y-up ShapeNet grids turn about y)."""
    import gan3d.training.vae_gan_module as module_file

    calls: list[tuple[float, int]] = []
    monkeypatch.setattr(module_file, "augment_voxel_batch", lambda g, p, up_axis: calls.append((p, up_axis)) or g)
    module = VaeGanModule(
        "gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, ada_target=0.7, ada_up_axis=1
    )
    grids = torch.zeros(2, 1, 32, 32, 32)
    module._d_view(grids)  # p = 0: no augmentation
    module.ada_p = 0.4
    module._d_view(grids)
    assert calls == [(0.4, 1)]


@pytest.mark.parametrize(
    ("control", "bad"),
    [
        (
            "ada_target",
            [
                {"ada_target": t, "ada_images": i, "ada_up_axis": u}
                for t, i, u in ((0.5, 100, 2), (1.0, 100, 2), (0.7, 0, 2), (0.7, 100, 3))
            ],
        ),
        (
            "noise_target",
            [
                {"noise_target": t, "noise_images": i, "d_input_noise": s}
                for t, i, s in ((0.5, 100, 0.0), (1.0, 100, 0.0), (0.7, 0, 0.0), (0.7, 100, -0.1))
            ],
        ),
    ],
)
def test_bad_adaptive_control_settings_are_refused(control: str, bad: list[dict]) -> None:
    """ADA and the adaptive noise refuse a target outside (0.5, 1), a zero speed, a bad axis or σ, and
    the WGAN-GP critic (which has no accuracy to follow)."""
    from gan3d.errors import ConfigError

    for kwargs in bad:
        with pytest.raises(ConfigError, match=control):
            VaeGanModule("gan_32", {"base_channels": 4}, d_accuracy_threshold=None, **kwargs)
    with pytest.raises(ConfigError, match="wgan-gp"):
        VaeGanModule(
            "gan_32",
            {"base_channels": 4, "d_norm": "none"},
            d_accuracy_threshold=None,
            gan_loss="wgan-gp",
            **{control: 0.7},
        )


def test_the_clean_accuracy_is_measured_on_every_nth_batch_only(data_root: Path, tmp_path: Path) -> None:
    """`clean_accuracy_every` 2: batches 0 and 2 of an epoch get D's two extra clean passes and log the
    clean accuracy, batch 1 neither; the noisy accuracy (which σ follows) is logged every batch; 0 is
    refused."""
    from gan3d.errors import ConfigError

    settings = {"d_accuracy_threshold": None, "d_input_noise": 0.3, "noise_target": 0.6}
    module = VaeGanModule("gan_32", {"base_channels": 4, "d_norm": "none"}, clean_accuracy_every=2, **settings)
    inputs, _ = _record_d_inputs_and_g_outputs(module)
    per_batch: list[tuple[int, set[str]]] = []
    original_log_dict = module.log_dict

    def log_dict(d: dict, **kw: object) -> None:
        if "train/d_acc_real" in d:  # D's log, once per batch: how many D calls came before it
            per_batch.append((len(inputs), set(d)))
        original_log_dict(d, **kw)

    module.log_dict = log_dict  # type: ignore[method-assign]
    dm = _datamodule(data_root, views=0, batch_size=2)  # 4 batches an epoch
    _fit(module, dm, tmp_path, max_steps=-1, max_epochs=1, limit_train_batches=3)
    clean = [{"train/d_acc_real_clean", "train/d_acc_fake_clean"} <= keys for _, keys in per_batch]
    assert clean == [True, False, True]
    # D calls per batch: (clean real, clean fake,) noisy real, noisy fake, then G's step calls D once
    assert [calls for calls, _ in per_batch] == [4, 4 + 1 + 2, 4 + 1 + 2 + 1 + 4]
    with pytest.raises(ConfigError, match="clean_accuracy_every"):
        VaeGanModule("gan_32", {"base_channels": 4}, clean_accuracy_every=0, **settings)


@pytest.mark.parametrize(
    ("control", "settings", "start", "ceiling"),
    [
        ("ada", {"ada_target": 0.7, "ada_images": 100}, 0.0, "ADA_MAX_P"),
        ("noise", {"noise_target": 0.7, "noise_images": 100, "d_input_noise": 0.25}, 0.25, "NOISE_MAX_SIGMA"),
    ],
)
def test_the_adaptive_controls_move_towards_a_harder_task_while_d_is_above_its_target(
    control: str, settings: dict, start: float, ceiling: str
) -> None:
    """ADA's p and the adaptive noise's σ: start (p at 0, σ at d_input_noise), += n / images while D's
    accuracy is above the target, -= below, within [0, ceiling]; without a target they stay put."""
    import gan3d.training.vae_gan_module as module_file

    value = {"ada": "ada_p", "noise": "noise_sigma"}[control]
    module = VaeGanModule("gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, **settings)
    update = getattr(module, f"_update_{control}")
    assert getattr(module, value) == start
    update(0.9, 10)
    assert getattr(module, value) == pytest.approx(start + 0.1)
    update(0.6, 5)
    assert getattr(module, value) == pytest.approx(start + 0.05)
    for _ in range(60):
        update(1.0, 10)
    assert getattr(module, value) == getattr(module_file, ceiling)
    for _ in range(60):
        update(0.5, 10)
    assert getattr(module, value) == 0.0
    fixed = VaeGanModule("gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, d_input_noise=0.2)
    getattr(fixed, f"_update_{control}")(1.0, 10)
    assert (fixed.ada_p, fixed.noise_sigma) == (0.0, 0.2)


def test_adaptive_noise_is_what_d_sees_is_logged_with_the_clean_accuracy_and_resumes(
    data_root: Path, tmp_path: Path
) -> None:
    """With the adaptive noise every D input in training carries N(0, σ²) noise at the current σ (real and
    fake, D's and G's step), the clean accuracy and σ are logged, σ moves after D's step by the rule from
    that step's accuracy (G's step sees the moved σ), and a checkpoint restores it."""
    module = VaeGanModule(
        "gan_32",
        {"base_channels": 4, "d_norm": "none"},
        d_accuracy_threshold=None,
        d_input_noise=0.3,
        noise_target=0.6,
        noise_images=64,
    )
    inputs, generated = _record_d_inputs_and_g_outputs(module)
    logged: dict[str, float] = {}
    original_log_dict = module.log_dict
    module.log_dict = lambda d, **kw: (logged.update({k: float(v) for k, v in d.items()}), original_log_dict(d, **kw))  # type: ignore[method-assign]
    dm = _datamodule(data_root, views=0)
    _fit(module, dm, tmp_path, max_steps=1, limit_val_batches=0)
    # forward order in the D step: clean real, clean fake (no grad), noisy real, noisy fake; then G's step
    clean_real, clean_fake = inputs[0], inputs[1]
    assert ((clean_real == 0) | (clean_real == 1)).all()
    torch.testing.assert_close(clean_fake, generated[0].to(clean_fake.dtype))
    torch.testing.assert_close(float((inputs[2] - clean_real).std()), 0.3, atol=0.02, rtol=0)
    torch.testing.assert_close(float((inputs[3] - generated[0]).std()), 0.3, atol=0.02, rtol=0)
    assert {"train/d_acc_real_clean", "train/d_acc_fake_clean", "train/noise_sigma"} <= set(logged)
    assert "train/ada_p" not in logged
    assert logged["train/noise_sigma"] == pytest.approx(0.3)  # σ as D's step used it
    accuracy = (logged["train/d_acc_real"] + logged["train/d_acc_fake"]) / 2
    n = dm.hparams.batch_size
    assert module.noise_sigma == pytest.approx(0.3 + (n / 64 if accuracy > 0.6 else -n / 64))
    # G's step, after the update, sees the moved σ
    torch.testing.assert_close(float((inputs[4] - generated[0]).std()), module.noise_sigma, atol=0.02, rtol=0)
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    fresh = VaeGanModule(
        "gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, d_input_noise=0.3, noise_target=0.6
    )
    fresh.on_load_checkpoint(checkpoint)
    assert fresh.noise_sigma == module.noise_sigma


@pytest.mark.parametrize("levels", ["batch", "uniform"])
def test_noise_levels_give_every_grid_sigma_or_its_own_draw_below_it(levels: str) -> None:
    """noise_levels: "batch" gives every grid D sees noise of std σ; "uniform" one std per grid from
    U[0, σ] (mean σ/2, spread over the whole range), the same std over all voxels of a grid."""
    torch.manual_seed(0)
    module = VaeGanModule(
        "gan_32",
        {"base_channels": 4, "d_norm": "none"},
        d_accuracy_threshold=None,
        d_input_noise=2.0,
        noise_target=0.7,
        noise_levels=levels,
    )
    grids = torch.zeros(256, 1, 12, 12, 12)
    per_grid = module._d_view(grids).flatten(1).std(dim=1)
    if levels == "batch":
        torch.testing.assert_close(per_grid, torch.full_like(per_grid, 2.0), atol=0.15, rtol=0)
    else:
        assert float(per_grid.max()) <= 2.0 * 1.1 and float(per_grid.min()) < 0.2 and float(per_grid.max()) > 1.8
        torch.testing.assert_close(float(per_grid.mean()), 1.0, atol=0.1, rtol=0)  # U[0, 2]: mean 1, std 0.58/16
        halves = module._d_view(grids).flatten(1)  # one std per grid: both halves of a grid agree
        first, second = halves[:, :864].std(dim=1), halves[:, 864:].std(dim=1)
        torch.testing.assert_close(first, second, atol=0.15 * float(first.max()), rtol=0.15)


def test_an_unknown_noise_levels_mode_is_refused() -> None:
    from gan3d.errors import ConfigError

    with pytest.raises(ConfigError, match="noise_levels"):
        VaeGanModule("gan_32", {"base_channels": 4}, noise_levels="gaussian")


def test_lecam_adds_its_penalty_at_moving_average_anchors_and_resumes_them(data_root: Path, tmp_path: Path) -> None:
    """Over two steps, from D's own scores: the anchors start at the first batch's mean real / fake scores
    and then move by (1 - decay); D's loss is the BCE plus λ times the hinged distances to them (by hand);
    the anchors are restored from a checkpoint."""
    import torch.nn.functional as F

    module = VaeGanModule(
        "gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, lecam_weight=1e6, lecam_decay=0.9
    )  # a large λ: an untrained D scores all grids within 0.01, the penalty itself is about 1e-6
    scores: list[torch.Tensor] = []
    module.model.discriminator.register_forward_hook(lambda mod, args, out: scores.append(out.detach().clone()))
    logged: dict[str, float] = {}
    original_log_dict = module.log_dict
    module.log_dict = lambda d, **kw: (logged.update({k: float(v) for k, v in d.items()}), original_log_dict(d, **kw))  # type: ignore[method-assign]
    _fit(module, _datamodule(data_root, views=0), tmp_path, max_steps=4)  # D's and G's optimiser steps, twice
    assert len(scores) == 6  # per step: D's real and fake, then G's fake
    real1, fake1, real2, fake2 = scores[0], scores[1], scores[3], scores[4]
    anchor_real = 0.9 * float(real1.mean()) + 0.1 * float(real2.mean())
    anchor_fake = 0.9 * float(fake1.mean()) + 0.1 * float(fake2.mean())
    assert module.lecam_anchors == pytest.approx((anchor_real, anchor_fake), rel=1e-5)
    penalty = (
        torch.clamp(real2 - anchor_fake, min=0).pow(2).mean() + torch.clamp(anchor_real - fake2, min=0).pow(2).mean()
    )
    bce = F.binary_cross_entropy_with_logits(real2, torch.ones_like(real2)) + F.binary_cross_entropy_with_logits(
        fake2, torch.zeros_like(fake2)
    )
    assert float(penalty) > 0
    assert logged["train/lecam"] == pytest.approx(float(penalty), rel=1e-4, abs=1e-7)
    assert logged["train/d_loss"] == pytest.approx(float(bce + 1e6 * penalty), rel=1e-4)
    assert 1e6 * float(penalty) > 0.01 * float(bce)  # visible beside the BCE
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    fresh = VaeGanModule("gan_32", {"base_channels": 4, "d_norm": "none"}, d_accuracy_threshold=None, lecam_weight=1e6)
    fresh.on_load_checkpoint(checkpoint)
    assert fresh.lecam_anchors == module.lecam_anchors


def test_bad_lecam_settings_are_refused() -> None:
    from gan3d.errors import ConfigError

    for weight, decay in ((-0.1, 0.99), (0.3, 1.0), (0.3, -0.5)):
        with pytest.raises(ConfigError, match="lecam"):
            VaeGanModule("gan_32", {"base_channels": 4}, lecam_weight=weight, lecam_decay=decay)


@pytest.mark.parametrize(
    "kind,pos_weight,gamma", [("l2", 0.5, 2.0), ("bce", 0.5, 2.0), ("bce", 0.8, 2.0), ("focal", 0.6, 1.5)]
)
def test_the_reconstruction_loss_is_the_one_asked_for(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, pos_weight: float, gamma: float
) -> None:
    """The logged train/recon is the chosen loss of the reconstruction the encoder step made."""
    import gan3d.training.vae_gan_module as module_file
    from gan3d.losses.reconstruction import occupancy_nll, reconstruction_loss

    seen: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    real = module_file.training_reconstruction_loss

    def spy(pred: torch.Tensor, target: torch.Tensor, *args: object) -> torch.Tensor:
        value = real(pred, target, *args)
        seen.append((pred.detach(), target, value.detach()))
        return value

    monkeypatch.setattr(module_file, "training_reconstruction_loss", spy)
    torch.manual_seed(0)
    module = VaeGanModule(
        "vae_gan_simple_32",
        SMALL,
        d_accuracy_threshold=None,
        recon_loss=kind,
        recon_pos_weight=pos_weight,
        focal_gamma=gamma,
    )
    _fit(module, _datamodule(data_root), tmp_path, max_steps=1)
    pred, target, value = seen[0]
    if kind == "l2":
        expected = reconstruction_loss(pred, target)
    else:
        expected = occupancy_nll(pred, target, pos_weight, gamma if kind == "focal" else 0.0).mean()
    assert float(value) == pytest.approx(float(expected), rel=1e-5)
    assert len(seen) == 2  # the encoder's and the generator's loss


def test_unknown_reconstruction_loss_is_refused() -> None:
    from gan3d.errors import ConfigError

    with pytest.raises(ConfigError, match="recon_loss"):
        VaeGanModule("vae_gan_simple_32", SMALL, recon_loss="l1")
    with pytest.raises(ConfigError, match="recon_pos_weight"):
        VaeGanModule("vae_gan_simple_32", SMALL, recon_loss="bce", recon_pos_weight=1.0)
