"""Tests of the tracer: the corpus against plain PyTorch, goldens, determinism, values."""
