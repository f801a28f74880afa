"""Helpers shared by test directories, imported as ``tests.support.<module>`` (pytest puts
the repository root on ``sys.path``: ``pythonpath`` in pyproject.toml)."""
