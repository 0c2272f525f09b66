"""Distributed training: launch plans, generated launcher configs, and the memory/parallelism/compute planners."""
