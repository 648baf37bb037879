"""Which documents may be answered from the cache, and their normalised form (pure).

A document may be kept when the chosen operation is a query and none of its fields
follows the clock or data whose writes are not announced on ``mm_live``. Those fields are
named here, once (`VOLATILE`); a new field that depends on either must be added.
Introspection is kept: the schema does not change while the process runs.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    print_ast,
    visit,
)

from graphql_api.limits import MAX_TOKENS

# type name -> the fields whose answer may change without an announced write
VOLATILE: dict[str, frozenset[str]] = {
    # nodes' heartbeats, the queue's due runs, the backfill lane's progress
    "Query": frozenset({"status", "backfills"}),
    # STALE follows the clock (heartbeats are not announced)
    "Exchange": frozenset({"status"}),
    # the clock (MM_STALE_MARKET_HOURS); candles are written by the backfill lane unannounced
    "Market": frozenset({"stale", "candles", "candleGaps"}),
    # heartbeats are not announced (state changes are)
    "HarvestRun": frozenset({"heartbeatAt"}),
}
MAX_DOCUMENTS = 512  # documents analysed and remembered per process


@dataclass(frozen=True, slots=True)
class Verdict:
    """`normalised` is the document's canonical text when it may be kept; else None and
    `reason` says why."""

    normalised: str | None
    reason: str


class _FindVolatile(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: str | None = None

    def enter_field(self, node: object, *_: object) -> object:
        parent = self.type_info.get_parent_type()
        if parent is None:  # under an unknown field: the query fails validation anyway
            return None
        name = node.name.value  # type: ignore[attr-defined]
        if name in VOLATILE.get(get_named_type(parent).name, ()):
            self.found = f"{parent.name}.{name}"
            return self.BREAK
        return None


def judge(schema: GraphQLSchema, query: str, operation_name: str | None) -> Verdict:
    """May the answer to `query` (operation `operation_name`) be kept?"""
    try:  # the same token bound as the schema's: a hostile document costs no more here
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return Verdict(None, "syntax")
    operation = _chosen_operation(document, operation_name)
    if operation is None:
        return Verdict(None, "operation")
    if operation.operation is not OperationType.QUERY:
        return Verdict(None, operation.operation.value)
    type_info = TypeInfo(schema)
    finder = _FindVolatile(type_info)
    visit(document, TypeInfoVisitor(type_info, finder))  # every operation and fragment
    if finder.found is not None:
        return Verdict(None, f"volatile: {finder.found}")
    return Verdict(print_ast(document), "ok")


def _chosen_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    return None


class Judge:
    """`judge` remembered per (document text, operation name), at most `limit` of them:
    clients send the same few documents again and again."""

    def __init__(self, schema: GraphQLSchema, limit: int = MAX_DOCUMENTS) -> None:
        self.schema = schema
        self.limit = limit
        self._verdicts: OrderedDict[tuple[str, str | None], Verdict] = OrderedDict()

    def __call__(self, query: str, operation_name: str | None) -> Verdict:
        key = (query, operation_name)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = judge(self.schema, query, operation_name)
            if len(self._verdicts) > self.limit:
                self._verdicts.popitem(last=False)
        else:
            self._verdicts.move_to_end(key)
        return verdict
