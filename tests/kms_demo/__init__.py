"""A test-only tenant app with a model using every encrypted field type (registered in core/settings_test.py)."""
