"""Pure tensor functions shared by data, render and models."""
