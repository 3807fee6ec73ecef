"""Adapters: one module per outside system, all the same shape."""
