"""Benchmarks of the platform's hot paths (run ``uv run python -m bench.onboarding``)."""
