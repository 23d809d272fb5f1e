"""CPU rendering: cameras, a z-buffer rasterizer and shading (the forward pass DIB-R extends)."""
