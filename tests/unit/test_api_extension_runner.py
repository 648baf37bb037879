"""The schema's one extension and the runner that calls its hooks directly: the same
results as through strawberry's own runner, and the stages behave as context managers
(after-``yield`` code on a normal exit only, exceptions passed on)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator

import pytest
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner

from graphql_api.context import RequestTrace
from graphql_api.extension_runner import GuardRunner, _AsyncStage, _Stage, create_runner
from graphql_api.limits import MAX_ALIASES, MAX_TOKENS, validation_rules
from graphql_api.operation import OperationGuard
from graphql_api.schema import create_schema

QUERIES = [
    "{ __typename }",
    "query Named { __typename }",
    "{ nothing }",  # a validation error
    "{ __typename",  # a syntax error
    "{ a: __typename } query B { __typename }",  # several operations, none chosen
    "{ __schema { queryType { name } } }",  # refused without introspection
    "{ exchanges(first: 500) { nodes { markets(first: 500) { nodes { symbol } } } } }",
    "{ " + " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1)) + " }",  # too many aliases
    "{ __typename " + "x " * MAX_TOKENS + "}",  # too many tokens
]


def test_the_guard_alone_gets_the_direct_runner_and_others_strawberrys() -> None:
    guard = OperationGuard(validation_rules(introspection=True))
    execution = object()
    assert isinstance(create_runner(execution, [guard]), GuardRunner)  # type: ignore[arg-type]
    mixed = create_runner(execution, [guard, SchemaExtension()])  # type: ignore[arg-type]
    assert type(mixed) is SchemaExtensionsRunner


@pytest.mark.parametrize("introspection", [True, False])
@pytest.mark.parametrize("query", QUERIES)
def test_the_direct_runner_answers_as_strawberrys_runner(introspection: bool, query: str) -> None:
    direct = create_schema(introspection=introspection)
    through_strawberry = create_schema(introspection=introspection)
    through_strawberry.create_extensions_runner = (  # type: ignore[method-assign]
        lambda context, extensions: SchemaExtensionsRunner(context, extensions)
    )

    def answer(schema: object) -> object:
        result = asyncio.run(schema.execute(query))  # type: ignore[attr-defined]
        errors = [(e.message, e.extensions, e.path) for e in result.errors or ()]
        return result.data, errors

    assert answer(direct) == answer(through_strawberry)


def test_a_stage_runs_the_code_after_yield_on_a_normal_exit_only() -> None:
    steps: list[str] = []

    def hook() -> Generator[None, None, None]:
        steps.append("before")
        yield
        steps.append("after")

    with _Stage(hook):
        steps.append("inside")
    with pytest.raises(ValueError, match="boom"), _Stage(hook):
        raise ValueError("boom")
    assert steps == ["before", "inside", "after", "before"]


def test_an_async_stage_runs_the_code_after_yield_on_a_normal_exit_only() -> None:
    trace = RequestTrace()

    async def hook() -> AsyncGenerator[None, None]:
        trace.error_codes.append("before")
        yield
        trace.error_codes.append("after")

    async def run() -> None:
        async with _AsyncStage(hook):
            trace.error_codes.append("inside")
        with pytest.raises(ValueError, match="boom"):
            async with _AsyncStage(hook):
                raise ValueError("boom")

    asyncio.run(run())
    assert trace.error_codes == ["before", "inside", "after", "before"]
