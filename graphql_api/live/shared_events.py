"""One execution per subscription event for identical subscriptions.

graphql-core executes a subscription's selection once per event and subscriber. When
many subscribers of a process ask the same thing (the same document, operation and
variables: every open status page, say), the hub hands them the same payload object,
and `SharedEventExecutor` executes it once and gives each the same result.

This holds because the fields reachable from the Subscription root do not depend on
who asks (no field-level authorisation below it; the token is checked once per
operation). The results are kept by payload, weakly: they go with the event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any
from weakref import finalize

import orjson
from graphql import OperationType

from graphql_api.execution import FastExecutor

# id(payload) -> results by event key; an entry goes when its payload is collected
# (payloads are dataclasses compared by value, so they cannot be weak dictionary keys).
_RESULTS: dict[int, dict[Hashable, Any]] = {}


def results_of(payload: Any) -> dict[Hashable, Any] | None:
    """The shared results of an event's payload; None for one that cannot be tracked."""
    found = _RESULTS.get(id(payload))
    if found is None:
        try:
            finalize(payload, _RESULTS.pop, id(payload), None)
        except TypeError:  # not weakly referenceable (a dict, a str …)
            return None
        found = _RESULTS[id(payload)] = {}
    return found


def event_key(executor: FastExecutor) -> Hashable | None:
    """What makes two subscribers' executions of one event the same; None if unknown."""
    operation = executor.operation
    if operation.loc is None:
        return None
    values = executor.variable_values
    try:
        variables = orjson.dumps(getattr(values, "coerced", values), option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    name = operation.name.value if operation.name else None
    return operation.loc.source.body, name, variables


class SharedEventExecutor(FastExecutor):
    def execute_operation(self, serially: bool | None = None) -> Any:
        if self.operation.operation is not OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        key = event_key(self)
        results = results_of(self.root_value) if key is not None else None
        if key is None or results is None:
            return super().execute_operation(serially)
        found = results.get(key)
        if found is None:
            found = super().execute_operation(serially)
            if self.is_awaitable(found):
                found = asyncio.ensure_future(found)
            results[key] = found
        # shielded: one subscriber going away must not cancel the others' result
        return asyncio.shield(found) if isinstance(found, asyncio.Future) else found
