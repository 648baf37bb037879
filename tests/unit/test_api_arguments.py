"""`graphql_api.arguments` gives the argument values graphql-core gives (literals,
defaults, variables, errors) and converts them as strawberry does: the same values for
every argument of the API's schema, and of a schema with the odd kinds (Maybe, GlobalID,
lists, inputs); and both executors' lookups find them."""

from __future__ import annotations

from enum import Enum
from typing import Any

import graphql.execution.executor as graphql_executor
import pytest
import strawberry
import strawberry.schema.schema_converter as schema_converter
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    OperationDefinitionNode,
    build_schema,
    get_variable_values,
    parse,
)
from strawberry.relay import GlobalID
from strawberry.types.unset import UNSET

from graphql_api import arguments
from graphql_api.schema import create_schema
from graphql_api.schema import schema as api_schema


@strawberry.enum
class Shade(Enum):
    DARK = "dark"
    LIGHT = "light"


@strawberry.input
class Box:
    size: int
    shade: Shade | None = None
    tags: list[str] | None = None


@strawberry.type
class Query:
    @strawberry.field
    def odd(
        self,
        maybe: strawberry.Maybe[int | None] = None,
        strict: strawberry.Maybe[str] = None,
        node: GlobalID | None = None,
        numbers: list[int] | None = None,
        box: Box | None = None,
        boxes: list[Box] | None = None,
        shade: Shade = Shade.DARK,
        plain: str | None = None,
    ) -> int:
        return 0


odd_schema = strawberry.Schema(query=Query)

SAMPLES: dict[str, Any] = {
    "String": "text",
    "ID": "QXNzZXQ6MQ==",  # a valid GlobalID too
    "Int": 7,
    "Float": 1.5,
    "Boolean": True,
}


def sample(kind: GraphQLInputType) -> Any:
    """A value of `kind` as graphql-core hands it to a resolver."""
    if isinstance(kind, GraphQLNonNull):
        return sample(kind.of_type)
    if isinstance(kind, GraphQLList):
        return [sample(kind.of_type)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values.values())).value
    if isinstance(kind, GraphQLInputObjectType):
        return {name: sample(field.type) for name, field in kind.fields.items()}
    assert isinstance(kind, GraphQLScalarType)
    return SAMPLES.get(kind.name, "2025-03-01T12:00:00+00:00")


def argument_cases(schema: strawberry.Schema) -> list[tuple[str, Any, dict[str, Any]]]:
    """(field, its strawberry field, arguments as given) for every field with arguments:
    none given, each one null, each one with a value, all with values."""
    cases = []
    for type_name, kind in schema._schema.type_map.items():
        for field_name, field in getattr(kind, "fields", {}).items():
            definition = field.extensions.get("strawberry-definition")
            if not getattr(field, "args", None) or definition is None:
                continue
            label = f"{type_name}.{field_name}"
            given: list[dict[str, Any]] = [{}]
            given += [{name: None} for name in field.args]
            given += [{name: sample(arg.type)} for name, arg in field.args.items()]
            given.append({name: sample(arg.type) for name, arg in field.args.items()})
            cases += [(label, definition, values) for values in given]
    return cases


@pytest.mark.parametrize("schema", [api_schema, odd_schema], ids=["api", "odd"])
def test_arguments_are_converted_to_what_strawberry_gives(schema: strawberry.Schema) -> None:
    cases = argument_cases(schema)
    assert len(cases) >= 18  # the odd schema: one field of eight arguments
    registry = schema.schema_converter.scalar_registry
    for label, field, values in cases:
        expected: Any = _outcome(arguments.ORIGINAL, values, field, registry, schema.config)
        got = _outcome(arguments.convert_arguments, values, field, registry, schema.config)
        assert got == expected, (label, values)
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()], label


def _outcome(convert: Any, values: dict[str, Any], field: Any, registry: Any, config: Any) -> Any:
    try:
        return convert(dict(values), field.arguments, registry, config, None)
    except Exception as error:  # e.g. null for a strict Maybe: both must refuse
        return {"error": f"{type(error).__name__}: {error}"}


def test_lists_are_copied_so_a_resolver_cannot_change_the_next_requests_default() -> None:
    field = odd_schema._schema.query_type.fields["odd"].extensions["strawberry-definition"]
    given = [1, 2]
    registry = odd_schema.schema_converter.scalar_registry
    converted = arguments.convert_arguments({"numbers": given}, field.arguments, registry,
                                            odd_schema.config)  # fmt: skip
    assert converted == {"numbers": [1, 2]} and converted["numbers"] is not given


def test_unset_and_absent_arguments_stay_out_of_the_keyword_arguments() -> None:
    field = odd_schema._schema.query_type.fields["odd"].extensions["strawberry-definition"]
    registry = odd_schema.schema_converter.scalar_registry
    converted = arguments.convert_arguments({"plain": UNSET}, field.arguments, registry,
                                            odd_schema.config)  # fmt: skip
    assert converted == {"plain": UNSET}


def test_strawberrys_resolvers_look_the_converter_up_where_install_puts_it() -> None:
    create_schema()
    assert "convert_arguments" in schema_converter.get_arguments.__code__.co_names
    assert schema_converter.convert_arguments is arguments.convert_arguments


VALUES_SCHEMA = build_schema(
    """
    enum Shade { DARK LIGHT }
    input Box { size: Int!, tags: [String] }
    type Query {
      page(first: Int = 50, after: String, shade: Shade = DARK, box: Box, ids: [Int!]): Int
      need(size: Int!): Int
    }
    """
)
VALUES_DOCUMENT = parse(
    """
    query ($first: Int, $size: Int!, $tag: String) {
      plain: page
      literal: page(first: 20, after: "x", shade: LIGHT)
      nulls: page(first: null, shade: null)
      box: page(box: {size: 2, tags: ["a"]}, ids: [1, 2])
      variable: page(first: $first)
      nestedVariable: page(box: {size: 1, tags: [$tag]})
      required: need(size: $size)
      literalRequired: need(size: 3)
    }
    """
)


@pytest.mark.parametrize(
    "variables", [{"size": 1}, {"size": 2, "first": 7, "tag": "t"}, {"size": 3, "first": None}]
)
def test_argument_values_are_graphql_cores_with_literals_defaults_and_variables(
    variables: dict[str, Any],
) -> None:
    operation = VALUES_DOCUMENT.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(VALUES_SCHEMA, operation.variable_definitions, variables)
    assert not isinstance(coerced, list)
    fields = VALUES_SCHEMA.query_type.fields  # type: ignore[union-attr]
    for _ in range(2):  # the second time from the cache, where there is one
        for node in operation.selection_set.selections:
            assert isinstance(node, FieldNode)
            field = fields[node.name.value]
            expected = arguments.ORIGINAL_VALUES(field, node, coerced)
            got = arguments.argument_values(field, node, coerced)
            assert got == expected, node.alias
            got.clear()  # a resolver's changes do not reach the next request
            assert arguments.argument_values(field, node, coerced) == expected


def test_an_invalid_argument_value_is_refused_each_time() -> None:
    node = parse("{ need }").definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    field = VALUES_SCHEMA.query_type.fields["need"]  # type: ignore[union-attr]
    for _ in range(2):
        with pytest.raises(GraphQLError, match="was not provided"):
            arguments.argument_values(field, node)


def test_graphql_cores_executor_looks_the_argument_values_up_where_install_puts_them() -> None:
    create_schema()
    executor_code = graphql_executor.Executor.execute_field.__code__
    assert "get_argument_values" in executor_code.co_names
    assert graphql_executor.get_argument_values is arguments.argument_values
