"""Source-independent work over record streams: run directories, stages, assembly and release."""

__version__ = "0.1.0"
