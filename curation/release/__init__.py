"""Releases: build Parquet in Hub layout, render the dataset card, push and verify."""
