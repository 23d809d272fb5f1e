"""Every paper-experiment config runs (`fast_dev_run`) at tiny sizes through `gan3d train`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gan3d.cli.main import main

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_there_is_a_config_per_paper_experiment() -> None:
    names = {p.stem for p in CONFIGS}
    for expected in (
        "vae_gan_chair32_first_model",
        "vae_gan_chair32_second_model",
        "vae_gan_chair32_340_epochs",
        "vae_gan_chair32_ssim",
        "vae_gan_chair32_augmented",
        "vae_gan_chair64",
        "cond_vae_gan_64",
        "cond_multiview_mean_64",
        "cond_multiview_max_64",
        "cond_multiview_lstm_64",
        "multiview_mean_chair64",
        "multiview_max_chair64",
        "multiview_lstm_chair64",
        "gan_chair64_paper",
        "gan_chair32_paper",
        "gan_chair32",
    ):
        assert expected in names


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_config_fast_dev_run(
    config: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path_factory.mktemp(config.stem)
    monkeypatch.chdir(work)
    settings = yaml.safe_load(config.read_text())
    assert "class_path" in settings["model"] and "class_path" in settings["data"]  # every config names its classes
    model_args, data_args = settings["model"]["init_args"], settings["data"]["init_args"]
    kwargs = dict(model_args.get("model_kwargs") or {})
    paper_encoder = model_args["model"] == "vae_gan_32"
    image_size = 224 if paper_encoder else 32
    extra: list[str] = []
    if "teacher" in model_args:  # the texture GAN: a small untrained texture predictor as its teacher
        from gan3d.training.dibr_module import DibrModule

        teacher_kwargs = {"image_size": image_size, "template_level": 2, "color": "texture", "base_channels": 4}
        DibrModule(model="dibr_net_texture_64", model_kwargs=teacher_kwargs).export_pretrained(work / "teacher")
        extra = ["--model.teacher", str(work / "teacher")]
        kwargs.update(template_level=2, width=32, texture_channels=32)
    elif "normal_net" in model_args:  # PIFuHD: a small untrained normal network export, small levels
        from gan3d.training.normal_module import NormalModule

        normal_kwargs = {"image_size": image_size, "base_channels": 4, "n_blocks": 1}
        NormalModule(model="normal_net_64", model_kwargs=normal_kwargs).export_pretrained(work / "normals")
        extra = ["--model.normal_net", str(work / "normals")]
        kwargs.update(image_size=image_size, coarse_size=16, crop_size=16, coarse_channels=16)
        kwargs.update(coarse_feature_channels=16, coarse_mlp_widths=[16, 8, 8], fine_channels=8)
        kwargs.update(fine_feature_channels=8, fine_mlp_widths=[8])
    elif model_args["model"].startswith("pifu"):
        kwargs.update(channels=16, feature_channels=16, mlp_widths=[16, 8])
    else:
        kwargs["base_channels"] = 4
    if "image_size" in kwargs:
        kwargs["image_size"] = image_size
    shared = tmp_path_factory.getbasetemp() / "shared_synth"  # one small dataset for all configs
    args = [
        "train",
        "--config",
        str(config),
        "--trainer.fast_dev_run",
        "true",
        "--trainer.enable_progress_bar",
        "false",
        "--model.model_kwargs",
        yaml.safe_dump(kwargs, default_flow_style=True).strip(),
        "--data.root",
        str(shared),
        "--data.synth_per_class",
        "5",
        "--data.batch_size",
        "2",
    ]
    if data_args.get("views"):
        args += ["--data.image_size", str(image_size)]
    assert main(args + extra) == 0
