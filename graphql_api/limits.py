"""How much one request may ask for; past a limit, a GraphQL error (never a 500).

- depth of the selection (introspection fields aside): `MAX_DEPTH`;
- aliases: `MAX_ALIASES`; tokens of the document: `MAX_TOKENS` (a parse error);
- one operation per request (batching is off: a JSON array body is refused with 400);
- `first` ≤ 500 per connection (`paging.cursors.MAX_PAGE_SIZE`);
- nodes: the product of the `first`s along nested connections, summed (`MAX_NODES`),
  so that ``exchanges(first: 500) { markets(first: 500) }`` is refused before it runs;
- request bodies: `MAX_BODY_BYTES` (HTTP 413, `graphql_api.http`); JSON nested at
  most `MAX_JSON_DEPTH` deep (HTTP 400: deeper would exhaust the stack).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    specified_rules,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.extensions.query_depth_limiter import IgnoreContext

from graphql_api.errors import VALIDATION_FAILED, coded
from graphql_api.paging.cursors import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from graphql_api.storable import StorableStringsRule

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 3000
MAX_NODES = 20_000
MAX_BODY_BYTES = 100_000
MAX_JSON_DEPTH = 64  # far more than any input of this schema needs
DOCUMENT_CACHE_SIZE = 512


def _introspection(context: IgnoreContext) -> bool:
    return context.field_name.startswith("__")


# The rules are made once, so that validation results can be cached per document.
_LIMIT_RULES = (
    query_depth_limiter.create_validator(MAX_DEPTH, _introspection, None),
    max_aliases.create_validator(MAX_ALIASES),
    StorableStringsRule,
)


def validation_rules(*, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's rules, then strawberry's depth and alias limits and the check of
    string literals (`graphql_api.storable`); without introspection, the rule refusing
    it. Made once per schema: the tuple is part of the validation cache's key."""
    refused = () if introspection else (NoSchemaIntrospectionCustomRule,)
    return (*specified_rules, *_LIMIT_RULES, *refused)


def _first(node: FieldNode, default: Any, variables: Mapping[str, Any]) -> int:
    """The `first` a connection field asks for, clamped to what its resolver accepts
    (a bad value is refused there, with a better message)."""
    value = default if isinstance(default, int) else DEFAULT_PAGE_SIZE
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        if isinstance(argument.value, IntValueNode):
            value = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            given = variables.get(argument.value.name.value)
            value = given if isinstance(given, int) else value
    return min(max(value, 0), MAX_PAGE_SIZE)


def estimate_nodes(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    """The most connection nodes `operation` may return: each field with a `first`
    argument returns up to `first` nodes for each node of its enclosing connections."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _walk(schema, root, operation.selection_set, 1, fragments, variables, set())


def _fields(
    selections: SelectionSetNode,
    parent: GraphQLObjectType,
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[tuple[GraphQLObjectType, FieldNode]]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield parent, selection
            continue
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            fragment: FragmentDefinitionNode | InlineFragmentNode = fragments[name]
            seen = seen | {name}
        else:
            assert isinstance(selection, InlineFragmentNode)
            fragment = selection
        condition = fragment.type_condition
        target = schema.get_type(condition.name.value) if condition else parent
        if isinstance(target, GraphQLObjectType):
            yield from _fields(fragment.selection_set, target, schema, fragments, seen)


def _walk(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    selections: SelectionSetNode,
    multiplier: int,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    seen: set[str],
) -> int:
    total = 0
    for owner, node in _fields(selections, parent, schema, fragments, seen):
        definition = owner.fields.get(node.name.value)
        if definition is None or node.selection_set is None:
            continue
        count = multiplier
        if "first" in definition.args:
            count = multiplier * _first(node, definition.args["first"].default_value, variables)
            total += count
        child = get_named_type(definition.type)
        if isinstance(child, GraphQLObjectType):
            total += _walk(schema, child, node.selection_set, count, fragments, variables, seen)
    return total


def node_budget_error(nodes: int) -> Exception:
    return coded(
        f"this query may return up to {nodes} nodes; the limit is {MAX_NODES}: "
        "ask for smaller pages (`first`) or nest fewer connections",
        VALIDATION_FAILED,
        nodes=nodes,
        limit=MAX_NODES,
    )


def nested_within(value: object, limit: int) -> bool:
    """Whether `value`'s lists and objects nest at most `limit` deep (walked without
    recursion, so that no depth can exhaust the stack)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return False
            pending.extend((child, depth + 1) for child in item)
    return True
