"""Profiling: LoRA fine-tune a model on a dataset, generate, and score against held-out images."""
