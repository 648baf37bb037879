"""Plans for the short path of `graphql_api.execution`: which selected fields are plain
attributes of a leaf type, and how to complete them without graphql-core.

A field qualifies when strawberry would resolve it with ``getattr`` alone (a "basic"
field: no resolver, no extension, no arguments) and its type is a scalar or an enum, or
when it is ``__typename``. Completing one reads the attribute and coerces it exactly as
graphql-core does; anything out of the ordinary (None on a non-null field, a value that
fails coercion, an awaitable, an exception) is answered with `SLOW`, and graphql-core
completes that field itself, locating the error as it always does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import isfinite
from types import CoroutineType, GeneratorType
from typing import Any

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetails

from graphql_api.identity_cache import IdentityCache

FieldDetailsList = Sequence[FieldDetails]
GroupedFieldSet = Mapping[str, FieldDetailsList]
SLOW = object()  # "let graphql-core complete this one"
STRAWBERRY_DEFINITION = "strawberry-definition"
BASIC_RESOLVER = "_get_basic_result"  # strawberry's resolver of basic fields
_UNPLAIN = (Exception, CoroutineType, GeneratorType)  # errors, and what may be awaitable
PLAN_CACHE_SIZE = 4096  # selection sets of the documents in `documents`' caches


def _int_in_range(value: int) -> bool:
    return GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT


# Built-in scalars that return a value of this exact type unchanged (when the check
# passes): what their coercion does, without the calls.
_UNCHANGED: dict[Any, tuple[type, Callable[[Any], bool] | None]] = {
    GraphQLString: (str, None),
    GraphQLID: (str, None),
    GraphQLBoolean: (bool, None),
    GraphQLFloat: (float, isfinite),
    GraphQLInt: (int, _int_in_range),
}


@dataclass(frozen=True, slots=True)
class LeafField:
    """How to complete one selected field: read `attribute` (or give `constant`, for
    ``__typename``) and coerce it to the type `kind`."""

    attribute: str | None
    kind: GraphQLLeafType | None
    non_null: bool
    constant: str | None = None
    unchanged: type | None = None  # values of this exact type need no coercion …
    check: Callable[[Any], bool] | None = None  # … when this holds

    def complete(self, source: Any) -> Any:
        """The completed value, or `SLOW` when graphql-core must handle it."""
        if self.attribute is None:
            return self.constant
        try:
            value = getattr(source, self.attribute)
        except Exception:
            return SLOW
        if type(value) is self.unchanged and (self.check is None or self.check(value)):
            return value
        if value is None:
            return SLOW if self.non_null else None
        if isinstance(value, _UNPLAIN) or hasattr(value, "__await__"):
            return SLOW
        assert self.kind is not None
        try:
            coerced = self.kind.coerce_output_value(value)
        except Exception:
            return SLOW
        return SLOW if coerced is None or coerced is Undefined else coerced


def leaf_field(parent: GraphQLObjectType, details: FieldDetailsList) -> LeafField | None:
    """The short path for the field that `details` select on `parent`, if it has one."""
    node = details[0].node
    if node.selection_set is not None:
        return None
    if any(d.node.arguments or d.fragment_variable_values for d in details):
        return None
    name = node.name.value
    if name == "__typename":
        return LeafField(None, None, True, constant=parent.name)
    field = parent.fields.get(name)
    if field is None or field.args:
        return None
    definition = field.extensions.get(STRAWBERRY_DEFINITION)
    if (
        definition is None
        or getattr(field.resolve, "__name__", None) != BASIC_RESOLVER
        or not definition.is_basic_field
        or definition.default_resolver is not getattr
    ):
        return None
    kind: Any = field.type
    non_null = is_non_null_type(kind)
    if non_null:
        kind = kind.of_type
    if not is_leaf_type(kind):
        return None
    unchanged, check = _UNCHANGED.get(kind, (None, None))
    return LeafField(definition.python_name, kind, non_null, None, unchanged, check)


# (response name, attribute, the type a value needs no coercion in, its check, the field)
_Step = tuple[str, str | None, type | None, Callable[[Any], bool] | None, LeafField]


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """The fields of one selection set that take the short path, by response name."""

    leaves: dict[str, LeafField]
    only_leaves: bool  # every field does: an object completes in one loop
    steps: tuple[_Step, ...] = ()  # `leaves` unpacked for `complete`'s loop

    def complete(self, source: Any) -> dict[str, Any] | None:
        """The object's result when `only_leaves`, or None if a field needs graphql-core.

        A page of markets is hundreds of objects of a few fields each: the common case
        (an attribute whose value needs no coercion, or null where null is allowed) is
        done in this loop, the rest by `LeafField.complete`."""
        result: dict[str, Any] = {}
        for response_name, attribute, unchanged, check, leaf in self.steps:
            if attribute is not None:
                try:
                    value = getattr(source, attribute)
                except Exception:
                    return None
                if type(value) is unchanged and (check is None or check(value)):
                    result[response_name] = value
                    continue
                if value is None and not leaf.non_null:
                    result[response_name] = None
                    continue
            value = leaf.complete(source)
            if value is SLOW:
                return None
            result[response_name] = value
        return result


_plans: IdentityCache[FieldPlan] = IdentityCache(PLAN_CACHE_SIZE)


def shared_plan(parent: GraphQLObjectType, fields: GroupedFieldSet) -> FieldPlan:
    """`plan_fields`, kept across requests by the identity of `parent` and of the
    selected nodes, which come from the (cached) parsed document: the response names and
    what `leaf_field` looks at follow from them. Fields with fragment variables (values
    of this request) are planned afresh."""
    nodes: list[object] = [parent]
    for details in fields.values():
        for selected in details:
            if selected.fragment_variable_values:
                return plan_fields(parent, fields)
            nodes.append(selected.node)
    return _plans.get(tuple(nodes), lambda: plan_fields(parent, fields))


def plan_fields(parent: GraphQLObjectType, fields: GroupedFieldSet) -> FieldPlan:
    leaves: dict[str, LeafField] = {}
    for response_name, details in fields.items():
        leaf = leaf_field(parent, details)
        if leaf is not None:
            leaves[response_name] = leaf
    steps = tuple(
        (name, leaf.attribute, leaf.unchanged, leaf.check, leaf) for name, leaf in leaves.items()
    )
    return FieldPlan(leaves, only_leaves=len(leaves) == len(fields), steps=steps)
