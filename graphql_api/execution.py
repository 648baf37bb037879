"""A graphql-core executor with a short path for plain attribute fields.

graphql-core runs every field of every object through the same machinery (resolve
info, resolver, awaitable checks, `complete_value`'s dispatch on the type): some
microseconds each, most of the time of a page of 100 markets. Most fields of this API
are plain attributes of a scalar or enum type (`graphql_api.leaves`). `FastExecutor`
completes those in place, and completes lists of objects without the per-item dispatch
(an object whose fields are all such attributes in one loop).

The result is the same document with the same errors: whatever is not plainly valid
goes through graphql-core's own code, as do lists under a directive (``@stream``),
deferred fragments and any middleware. ``tests/unit/test_api_execution.py`` runs both
executors on the cases that matter and compares.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Iterable
from types import CoroutineType, GeneratorType
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_api.leaves import SLOW, FieldDetailsList, FieldPlan, GroupedFieldSet, shared_plan


@functools.cache
def plain_object_type(kind: type) -> bool:
    """Whether every instance of `kind` is a plain result object: a strawberry type
    that is not an error and not awaitable (what graphql-core checks item by item: a
    page's items are a few types, checked once each). No ``__getattr__``, so that
    ``hasattr(item, "__await__")`` cannot answer otherwise for an instance."""
    return (
        hasattr(kind, "__strawberry_definition__")
        and not issubclass(kind, (Exception, CoroutineType, GeneratorType))
        and not hasattr(kind, "__await__")
        and not hasattr(kind, "__getattr__")
        and kind.__getattribute__ is object.__getattribute__
    )


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, with the short paths of `graphql_api.leaves`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._fast = manager is None or not manager.middlewares
        # by the identity of graphql-core's memoized field sets, which are kept alive here
        self._plans: dict[tuple[str, int], tuple[GroupedFieldSet, FieldPlan]] = {}

    def _plan(self, parent: GraphQLObjectType, fields: GroupedFieldSet) -> FieldPlan:
        key = (parent.name, id(fields))
        cached = self._plans.get(key)
        if cached is None:
            cached = self._plans[key] = (fields, shared_plan(parent, fields))
        return cached[1]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set) if self._fast else None
        if plan is None or not plan.leaves or position_context is not None:
            return super().execute_fields(
                parent_type,
                source_value,
                path,
                grouped_field_set,  # type: ignore[arg-type]
                position_context,
            )
        leaves = plan.leaves
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details in grouped_field_set.items():
                leaf = leaves.get(response_name)
                if leaf is not None:
                    value = leaf.complete(source_value)
                    if value is not SLOW:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    details,  # type: ignore[arg-type]
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gather_fields(results, awaitable_fields)

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        """A list of objects: each item straight to its fields, what graphql-core's
        `complete_value` comes to for a present object of a type without `is_type_of`."""
        object_type: Any = item_type.of_type if is_non_null_type(item_type) else item_type
        fields = self._list_fields(object_type, field_details_list, position_context)
        if fields is not None:
            items = list(items)
            if all(map(plain_object_type, set(map(type, items)))):
                return self._complete_objects(
                    item_type, object_type, fields, field_details_list, path, items
                )
        return super().complete_iterable_value(
            item_type,
            field_details_list,  # type: ignore[arg-type]
            info,
            path,
            items,
            position_context,
        )

    def _list_fields(
        self, object_type: Any, field_details_list: FieldDetailsList, position_context: Any
    ) -> GroupedFieldSet | None:
        """The sub-fields of a list of `object_type`, if it can take the short path."""
        if not self._fast or position_context is not None or not is_object_type(object_type):
            return None
        if object_type.is_type_of or any(d.node.directives for d in field_details_list):
            return None  # `@stream` and friends: graphql-core's business
        fields, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)  # type: ignore[arg-type]
        return None if new_defer_usages else fields

    def _complete_objects(
        self,
        item_type: GraphQLOutputType,
        object_type: GraphQLObjectType,
        fields: GroupedFieldSet,
        field_details_list: FieldDetailsList,
        path: Path,
        items: list[Any],
    ) -> Any:
        plan = self._plan(object_type, fields)
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                value: Any = plan.complete(item) if plan.only_leaves else None
                if value is None:
                    item_path = Path(path, index, None)
                    try:
                        value = self.execute_fields(object_type, item, item_path, fields, None)
                    except Exception as error:
                        self.handle_field_error(error, item_type, field_details_list, item_path)  # type: ignore[arg-type]
                    if is_awaitable(value):
                        value = self._guarded(value, item_type, field_details_list, item_path)
                        awaitable_indices.append(index)
                completed.append(value)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return _gather_items(completed, awaitable_indices)

    async def _guarded(
        self,
        value: Awaitable[Any],
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        item_path: Path,
    ) -> Any:
        try:
            return await value
        except Exception as error:
            self.handle_field_error(error, item_type, field_details_list, item_path)  # type: ignore[arg-type]
            return None


async def _gather_fields(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    if len(awaitable_fields) == 1:
        field = awaitable_fields[0]
        results[field] = await results[field]
    else:
        values = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, values, strict=True))
    return results


async def _gather_items(completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
    if len(awaitable_indices) == 1:
        index = awaitable_indices[0]
        completed[index] = await completed[index]
    else:
        values = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
        for index, value in zip(awaitable_indices, values, strict=True):
            completed[index] = value
    return completed
