"""Fixtures of the reliability suite: the simulator of the acceptance tests."""

from tests.acceptance.conftest import sim

__all__ = ["sim"]
