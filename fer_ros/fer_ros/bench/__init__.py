"""Benchmarks with JSON output (speed goals live here, not in timed tests)."""
