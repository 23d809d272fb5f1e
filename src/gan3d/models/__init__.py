"""Networks (plain `nn.Module`s): voxel generator/discriminator, image encoders, conditioning.

Importing this package registers every paper variant with `gan3d.registry`.
"""

from gan3d.models import vae_gan  # noqa: F401  (registers the builders)
