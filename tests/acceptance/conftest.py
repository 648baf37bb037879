"""Fixtures of the acceptance tests."""

from collections.abc import Iterator

import pytest

from simulator.server import SimulatorServer, running_simulator


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(markets=200) as server:
        yield server
