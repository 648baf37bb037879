"""The short path of `graphql_api.execution` gives what graphql-core's executor gives:
the same data and the same errors, with odd values, nulls, fragments and directives."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType, parse
from graphql.execution.collect_fields import FieldDetails
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_api.execution import FastExecutor
from graphql_api.leaves import SLOW, leaf_field
from graphql_api.schema import create_schema
from graphql_api.schema import schema as api_schema

WHEN = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@strawberry.enum
class Color(Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    count: int
    price: float | None
    ok: bool
    color: Color
    when: dt.datetime | None
    note: str | None
    required: str

    @strawberry.field
    def doubled(self) -> int:
        return self.count * 2

    @strawberry.field
    async def shout(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError("boom")


async def _after_a_tick(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


class Later:
    """An awaitable that makes its coroutine only when awaited (none is left unawaited)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return _after_a_tick(self.value).__await__()


def item(index: int, **overrides: Any) -> Item:
    values: dict[str, Any] = {
        "id": strawberry.ID(str(index)),
        "name": f"item{index}",
        "count": index,
        "price": index * 1.5,
        "ok": index % 2 == 0,
        "color": Color.RED if index % 2 else Color.BLUE,
        "when": WHEN if index % 3 else None,
        "note": None,
        "required": "yes",
    }
    values.update(overrides)
    return Item(**values)


def odd_items() -> list[Item]:
    """Values graphql-core must see: coercion failures, nulls, awaitables, ints as IDs."""
    broken = item(7)
    del broken.__dict__["note"]  # an attribute that is not there
    return [
        item(1),
        item(2, price=math.nan),  # Float cannot represent NaN: null and an error
        item(3, count=2**40),  # past 32 bits on a non-null field: the error propagates
        item(4, required=None),  # null on a non-null field
        item(5, name=Later("awaited")),  # an awaitable attribute is awaited
        item(6, id=6, price=3, ok=1),  # what coercion converts
        broken,
        item(8, note=Color.RED),  # an enum where a string goes: str() of it
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [item(i) for i in range(1, 6)]

    @strawberry.field
    def odd(self) -> list[Item | None]:
        return odd_items()

    @strawberry.field
    def strict(self) -> list[Item]:
        return odd_items()

    @strawberry.field
    async def later(self) -> list[Item | None]:
        return [Later(i) if n % 2 else i for n, i in enumerate(odd_items())]  # type: ignore[misc]

    @strawberry.field
    def with_nones(self) -> list[Item | None]:
        return [item(1), None, item(2)]

    @strawberry.field
    def one(self) -> Item | None:
        return item(3, price=math.inf)


FIELDS = "id name count price ok color when note required"
QUERIES = [
    f"{{ items {{ {FIELDS} doubled shout __typename n: name again: name }} }}",
    f"{{ odd {{ {FIELDS} }} }}",
    "{ odd { id doubled fails shout } }",
    f"{{ strict {{ {FIELDS} }} }}",
    "{ strict { id name } }",
    f"{{ later {{ {FIELDS} shout }} }}",
    "{ withNones { id name } }",
    "{ one { id price count } }",
    "{ items { ...F ... on Item { count } ... { ok } } } fragment F on Item { id name }",
    "query($yes: Boolean!) { items { id name @skip(if: $yes) count @include(if: $yes) } }",
    "query($yes: Boolean!) { odd @include(if: $yes) { id } }",
    "query($yes: Boolean!) { items { ... @skip(if: $yes) { id name } } }",
]


def run(executor: type, query: str, variables: dict[str, Any]) -> tuple[Any, list[Any]]:
    schema = strawberry.Schema(query=Query, execution_context_class=executor)
    result = asyncio.run(schema.execute(query, variable_values=variables))
    errors = sorted(
        ((e.message, e.path, [(loc.line, loc.column) for loc in e.locations or []])
         for e in result.errors or []),
        key=repr,
    )  # fmt: skip
    return result.data, errors


@pytest.mark.parametrize("yes", [True, False])
@pytest.mark.parametrize("query", QUERIES)
def test_the_short_path_answers_as_graphql_core_does(query: str, yes: bool) -> None:
    variables = {"yes": yes} if "$yes" in query else {}
    expected = run(StrawberryGraphQLCoreExecutionContext, query, variables)
    assert run(FastExecutor, query, variables) == expected


def test_the_cases_above_do_take_the_short_path_and_leave_it() -> None:
    data, errors = run(FastExecutor, f"{{ odd {{ {FIELDS} }} }}", {})
    assert data["odd"][0]["name"] == "item1" and data["odd"][4]["name"] == "awaited"
    assert data["odd"][1]["price"] is None and data["odd"][2] is None
    assert data["odd"][5] == {**data["odd"][5], "id": "6", "price": 3.0, "ok": True}
    assert data["odd"][7]["note"] == "Color.RED"
    assert {tuple(error[1]) for error in errors} == {
        ("odd", 1, "price"),
        ("odd", 2, "count"),
        ("odd", 3, "required"),
        ("odd", 6, "note"),
    }


def _details(schema_type: GraphQLObjectType, selection: str) -> list[FieldDetails]:
    document = parse(f"{{ {selection} }}")
    node = document.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    return [FieldDetails(node, None)]


def test_which_fields_take_the_short_path() -> None:
    market = api_schema._schema.type_map["Market"]
    assert isinstance(market, GraphQLObjectType)
    symbol = leaf_field(market, _details(market, "symbol"))
    assert symbol is not None and symbol.attribute == "symbol" and symbol.non_null
    assert leaf_field(market, _details(market, "volumeUsd")) is not None
    typename = leaf_field(market, _details(market, "__typename"))
    assert typename is not None and typename.complete(object()) == "Market"
    for computed in ("spreadPct", "stale", "anomalous", "exchange { name }"):
        assert leaf_field(market, _details(market, computed)) is None


def test_a_leaf_gives_way_on_what_it_cannot_judge() -> None:
    market = api_schema._schema.type_map["Market"]
    assert isinstance(market, GraphQLObjectType)
    last = leaf_field(market, _details(market, "last"))
    symbol = leaf_field(market, _details(market, "symbol"))
    assert last is not None and symbol is not None

    class Row:
        pass

    row = Row()
    row.last, row.symbol = 1.5, None  # type: ignore[attr-defined]
    assert last.complete(row) == 1.5
    assert symbol.complete(row) is SLOW  # null on a non-null field
    row.last = math.nan  # type: ignore[attr-defined]
    assert last.complete(row) is SLOW
    assert symbol.complete(object()) is SLOW  # no such attribute


def test_the_api_schema_uses_the_short_path() -> None:
    assert api_schema.execution_context_class is FastExecutor


def test_a_list_of_plain_objects_skips_graphql_cores_field_machinery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fails if the short path is silently no longer taken (e.g. strawberry renamed what
    `graphql_api.leaves` recognises): then every field goes through `execute_field`."""
    through_graphql_core: list[str] = []
    execute_field = StrawberryGraphQLCoreExecutionContext.execute_field

    def counting(self: Any, parent_type: GraphQLObjectType, *args: Any) -> Any:
        through_graphql_core.append(parent_type.name)
        return execute_field(self, parent_type, *args)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counting)
    data, errors = run(FastExecutor, f"{{ items {{ {FIELDS} }} }}", {})
    assert errors == [] and len(data["items"]) == 5
    assert through_graphql_core == ["Query"]
    through_graphql_core.clear()
    run(StrawberryGraphQLCoreExecutionContext, f"{{ items {{ {FIELDS} }} }}", {})
    assert len(through_graphql_core) == 1 + 5 * len(FIELDS.split())  # what it saves


def test_the_fast_executor_can_be_turned_off() -> None:
    assert create_schema(fast_executor=False).execution_context_class is not FastExecutor
