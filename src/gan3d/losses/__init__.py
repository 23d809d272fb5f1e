"""Training losses (differentiable; the metrics module holds the evaluation versions)."""
