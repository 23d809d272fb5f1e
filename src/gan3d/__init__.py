"""gan3d: GAN architectures for 3D models on one data pipeline: the voxel family (3D-GAN, 3D-VAE-GAN), and
DIB-R's differentiable renderer, multi-view mesh fitting, single-image mesh + colour/texture predictor and
texture GAN, and PIFu (pixel-aligned implicit functions) with PIFuHD's coarse + fine levels and its
normal-map network."""

from gan3d.errors import CheckpointError, ConfigError, DataError, Gan3dError

__version__ = "0.1.0"

__all__ = ["CheckpointError", "ConfigError", "DataError", "Gan3dError", "__version__"]
