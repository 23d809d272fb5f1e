"""Networks (plain `nn.Module`s): voxel generator/discriminator, image encoders, conditioning, DIB-R's
single-image mesh predictor, PIFu and PIFuHD.

Importing this package registers every paper variant with `gan3d.registry`.
"""

from gan3d.models import dibr_net, normal_net, pifu, pifuhd, texture_gan, vae_gan  # noqa: F401  (registers the builders)
