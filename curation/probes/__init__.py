"""Distillation probe sets: load inputs, mutate templates (GPTFuzz-style), sample RSE pools, build, release."""
