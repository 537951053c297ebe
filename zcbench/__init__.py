"""zcbench: zero-cost NAS proxies on the real NAS benchmarks."""

__version__ = "0.1.0"
