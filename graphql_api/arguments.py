"""Arguments of fields: graphql-core's values kept per field of a document, and
strawberry's conversion planned once per field.

graphql-core coerces each field's arguments from the document's literals and the
arguments' defaults every time it resolves the field (`get_argument_values`): 20 times
for ``Exchange.markets`` in a page of exchanges, each time the same values when no
variable is involved. `argument_values` gives the same result: for a field node whose
arguments hold no variable it keeps the values (when all are immutable: None, booleans,
numbers, text, enum members) by the identity of the field and the node, which the
document cache reuses (`graphql_api.identity_cache`), and hands out a copy of the dict.

Before each resolver call strawberry converts the field's arguments
(`strawberry.types.arguments.convert_arguments`): for every argument it resolves the
argument's type annotation, converts its GraphQL name, and walks `convert_argument`'s
chain of type checks, although most arguments (scalars, enums, optional ones) come out
unchanged. ``Exchange.markets`` has six: ~50 µs per call, 20 calls in a page of
exchanges.

`convert_arguments` here gives strawberry's result: per argument list (one per field, for
the schema's life) and name converter it works out once which arguments pass through
unchanged, and hands every other one to strawberry's `convert_argument` as strawberry
does. `install()` puts both where the executors look them up
(`graphql.execution.executor.get_argument_values`,
`strawberry.schema.schema_converter.convert_arguments`): neither library has a public
hook for this; ``tests/unit/test_api_arguments.py`` compares them with the originals and
fails if a lookup moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

import graphql.execution.executor as graphql_executor
import strawberry.schema.schema_converter as schema_converter
from graphql import (
    DirectiveNode,
    FieldNode,
    GraphQLDirective,
    GraphQLField,
    Node,
    VariableNode,
)
from graphql.execution.values import FragmentVariableValues, VariableValues
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import StrawberryArgument, convert_argument
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

from graphql_api.identity_cache import IdentityCache

ORIGINAL_VALUES = graphql_executor.get_argument_values
ORIGINAL = schema_converter.convert_arguments
ARGUMENT_CACHE_SIZE = 4096  # field nodes of the documents in `documents`' caches
_IMMUTABLE = (type(None), bool, int, float, str, Enum)
_constant: IdentityCache[dict[str, Any] | None] = IdentityCache(ARGUMENT_CACHE_SIZE)


def argument_values(
    type_def: GraphQLField | GraphQLDirective,
    node: FieldNode | DirectiveNode,
    variable_values: VariableValues | None = None,
    fragment_variable_values: FragmentVariableValues | None = None,
    hide_suggestions: bool = False,
) -> dict[str, Any]:
    """What graphql-core's `get_argument_values` returns, with its signature."""
    if fragment_variable_values or not isinstance(node, FieldNode):
        return ORIGINAL_VALUES(
            type_def, node, variable_values, fragment_variable_values, hide_suggestions
        )
    constant = _constant.get(
        (type_def, node), lambda: _constant_values(type_def, node, hide_suggestions)
    )
    if constant is None:
        return ORIGINAL_VALUES(
            type_def, node, variable_values, fragment_variable_values, hide_suggestions
        )
    return dict(constant)


def _constant_values(
    type_def: GraphQLField | GraphQLDirective, node: FieldNode, hide_suggestions: bool
) -> dict[str, Any] | None:
    """The argument values of `node` if they depend on the document alone and are all
    immutable, else None. An invalid value raises, and is not kept."""
    if any(_holds_variable(argument.value) for argument in node.arguments or ()):
        return None
    values = ORIGINAL_VALUES(type_def, node, None, None, hide_suggestions)
    if all(isinstance(v, _IMMUTABLE) for v in values.values()):
        return values
    return None


def _holds_variable(value: Node) -> bool:
    if isinstance(value, VariableNode):
        return True
    for key in value.keys:
        child = getattr(value, key, None)
        children = child if isinstance(child, tuple | list) else (child,)
        if any(isinstance(c, Node) and _holds_variable(c) for c in children):
            return True
    return False


# (GraphQL name, Python name, the argument when its value needs converting)
_Step = tuple[str, str, StrawberryArgument | None]
_plans: dict[tuple[int, int, int], tuple[Any, tuple[_Step, ...]]] = {}


def passes_unchanged(type_: Any, scalar_registry: Mapping[object, Any]) -> bool:
    """True when `convert_argument` returns every value of `type_` as it is: a scalar
    (not GlobalID) or an enum, or such a type made optional (None stays None)."""
    while isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        type_ = type_.of_type
    if isinstance(type_, StrawberryMaybe) or type_ is GlobalID:
        return False
    return (
        is_scalar(type_, scalar_registry)
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    )


def _plan(
    arguments: list[StrawberryArgument],
    scalar_registry: Mapping[object, Any],
    config: StrawberryConfig,
) -> tuple[_Step, ...]:
    key = (id(arguments), id(scalar_registry), id(config))
    found = _plans.get(key)
    if found is None:
        steps = []
        for argument in arguments:
            assert argument.python_name
            plain = passes_unchanged(argument.type, scalar_registry)
            name = config.name_converter.from_argument(argument)
            steps.append((name, argument.python_name, None if plain else argument))
        # the key's objects are kept alive with the plan, so their ids stay theirs
        found = _plans[key] = ((arguments, scalar_registry, config), tuple(steps))
    return found[1]


def convert_arguments(
    value: dict[str, Any],
    arguments: list[StrawberryArgument],
    scalar_registry: Mapping[object, Any],
    config: StrawberryConfig,
    info: Any = None,
) -> dict[str, Any]:
    """What `strawberry.types.arguments.convert_arguments` returns, with its signature."""
    if not arguments:
        return {}
    kwargs: dict[str, Any] = {}
    for name, python_name, argument in _plan(arguments, scalar_registry, config):
        if name in value:
            if argument is None:
                kwargs[python_name] = value[name]
            else:
                kwargs[python_name] = convert_argument(
                    value=value[name],
                    type_=argument.type,
                    config=config,
                    scalar_registry=scalar_registry,
                    info=info,
                    path=(name,),
                )
    return kwargs


def install() -> None:
    """Make graphql-core's executor take argument values from `argument_values`, and
    strawberry's resolvers convert them with `convert_arguments`."""
    graphql_executor.get_argument_values = argument_values
    schema_converter.convert_arguments = convert_arguments
