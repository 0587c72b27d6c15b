"""Distillation evaluation: run probes against endpoints, judge, score, import the paper's data, report."""
