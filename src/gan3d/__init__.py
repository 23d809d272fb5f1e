"""gan3d: GAN architectures for 3D models (3D-GAN, 3D-VAE-GAN, DIB-R, PIFu) on one data pipeline."""

from gan3d.errors import CheckpointError, ConfigError, DataError, Gan3dError

__version__ = "0.1.0"

__all__ = ["CheckpointError", "ConfigError", "DataError", "Gan3dError", "__version__"]
