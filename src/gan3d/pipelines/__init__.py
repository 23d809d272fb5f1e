"""Inference: load a trained model, generate shapes from noise, reconstruct shapes from images."""
