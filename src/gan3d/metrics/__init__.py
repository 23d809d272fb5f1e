"""Evaluation metrics, one documented convention each (metrics, never losses)."""
