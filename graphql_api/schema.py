"""The GraphQL schema: `create_schema(...)` and the default `schema`.

Introspection and "Did you mean …" suggestions go together: both off with
MM_API_INTROSPECTION=0. Every error is given its code (and masked when unexpected)
once, in `process_errors`, whichever way the request went.
"""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext

from graphql_api import arguments
from graphql_api.errors import present_errors
from graphql_api.execution import FastExecutor
from graphql_api.extension_runner import create_runner
from graphql_api.limits import validation_rules
from graphql_api.live.shared_events import SharedEventExecutor
from graphql_api.live.subscription import Subscription
from graphql_api.mutation import Mutation
from graphql_api.operation import OperationGuard
from graphql_api.query import Query


class CachedNameConverter(NameConverter):
    """strawberry converts each argument's name to camelCase again on every resolver
    call; the names are few and fixed."""

    @functools.cache  # noqa: B019 (one converter per schema, kept for its lifetime)
    def apply_naming_config(self, name: str) -> str:
        return super().apply_naming_config(name)


class MarketManagerSchema(strawberry.Schema):
    def __init__(self, *, introspection: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.introspection = introspection

    def _stream(self, *args: Any, **kwargs: Any) -> Any:
        # subscriptions: identical subscribers share each event's execution
        kwargs["execution_context_class"] = SharedEventExecutor
        return super()._stream(*args, **kwargs)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return create_runner(execution_context, extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        present_errors(errors, suggestions=self.introspection)


def create_schema(*, introspection: bool = True, fast_executor: bool = True) -> MarketManagerSchema:
    """`fast_executor`: `FastExecutor`'s short path for plain fields (MM_API_FAST_EXECUTOR),
    else graphql-core's own executor; both give the same results. Arguments are converted
    by `graphql_api.arguments` (the same values as strawberry's, planned once per field)."""
    arguments.install()
    rules = validation_rules(introspection=introspection)
    return MarketManagerSchema(
        introspection=introspection,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[functools.partial(OperationGuard, rules)],
        config=StrawberryConfig(
            disable_field_suggestions=not introspection, name_converter=CachedNameConverter()
        ),
        execution_context_class=FastExecutor if fast_executor else None,
    )


schema = create_schema()
