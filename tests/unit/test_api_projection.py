"""Pages load the columns of the fields selected on their nodes (`graphql_api.projection`)."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry
from graphql import GraphQLObjectType

from graphql_api.paging.listings import MARKETS, PageRequest, page_sql, pages_per_parent_sql
from graphql_api.projection import Projection, node_field_names, plain_columns
from graphql_api.schema import schema as api_schema
from graphql_api.types.market import PROJECTION, Market

SEEN: list[set[str]] = []


@strawberry.type
class Node:
    a: int
    b: int
    c: int


@strawberry.type
class Edge:
    cursor: str
    node: Node


@strawberry.type
class Page:
    nodes: list[Node]
    edges: list[Edge]
    total_count: int


@strawberry.type
class Query:
    @strawberry.field
    def page(self, info: strawberry.Info) -> Page:
        SEEN.append(node_field_names(info.selected_fields))
        return Page(nodes=[], edges=[], total_count=0)


def names_selected(query: str, variables: dict[str, Any] | None = None) -> set[str]:
    SEEN.clear()
    result = asyncio.run(strawberry.Schema(query=Query).execute(query, variables))
    assert result.errors is None, result.errors
    return SEEN[0]


def test_fields_under_nodes_and_edges_with_their_fragments() -> None:
    query = """
        { page { totalCount nodes { a ...B } edges { cursor node { ... on Node { c } } } } }
        fragment B on Node { b }
    """
    assert names_selected(query) == {"a", "b", "c"}
    assert names_selected("{ page { ... on Page { nodes { x: a } } } }") == {"a"}
    assert names_selected("{ page { totalCount } }") == set()
    skipping = "query($no: Boolean!) { page { nodes { a b @skip(if: $no) } } }"
    assert names_selected(skipping, {"no": True}) == {"a", "b"}  # its column costs nothing more


def test_columns_of_the_selected_fields() -> None:
    projection = Projection(always=("id",), fields={"a": ("x",), "b": ("y", "x"), "t": ()})
    assert projection.columns(["b", "t"]) == ("id", "x", "y")
    assert projection.columns([]) == ("id",)
    assert projection.columns(["a", "unknown"]) is None  # every column, as before


def test_plain_fields_read_their_own_column() -> None:
    columns = plain_columns(Market, stale=("active",))
    assert columns["volumeUsd"] == ("volume_usd",)
    assert columns["stale"] == ("active",) and columns["__typename"] == ()
    assert "spreadPct" not in columns  # computed, and not declared here


def test_every_market_field_has_its_columns() -> None:
    market = api_schema._schema.type_map["Market"]
    assert isinstance(market, GraphQLObjectType)
    assert set(market.fields) | {"__typename"} == set(PROJECTION.fields)


def request(**overrides: Any) -> PageRequest:
    values: dict[str, Any] = {"ordering": MARKETS.orderings["VOLUME_USD_DESC"], "first": 20}
    return PageRequest(**(values | overrides))


def test_a_page_selects_its_columns_and_keys() -> None:
    query, params = page_sql(MARKETS, request(columns=("id", "symbol")))
    text = query.as_string(None)
    assert text.startswith('SELECT m."id", m."symbol", (m.volume_usd)::text AS "k0"')
    assert "LIMIT 21" in text and params == {}
    everything, _ = page_sql(MARKETS, request())
    assert everything.as_string(None).startswith("SELECT m.*, ")


def test_statements_are_built_once_per_shape() -> None:
    first, first_params = page_sql(MARKETS, request(filters=(("base", "BTC"),), after=("5", "9")))
    again, again_params = page_sql(MARKETS, request(filters=(("base", "ETH"),), after=("7", "1")))
    assert first is again
    assert first_params == {"f0": "BTC", "after_0": "5", "after_1": "9"}
    assert again_params == {"f0": "ETH", "after_0": "7", "after_1": "1"}
    nulls, nulls_params = page_sql(MARKETS, request(filters=(("base", "BTC"),), after=(None, "9")))
    assert nulls is not first and nulls_params == {"f0": "BTC", "after_1": "9"}
    per_parent, params = pages_per_parent_sql(MARKETS, request(columns=("id",)), [1, 2])
    assert params == {"parent_ids": [1, 2]}
    assert 'CROSS JOIN LATERAL (SELECT m."id", ' in per_parent.as_string(None)
