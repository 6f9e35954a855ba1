"""Loaded by every Python process of a test run (the root conftest puts this directory on PYTHONPATH)."""

import netguard  # noqa: F401  (installs the loopback-only guard)
