"""GraphiQL opens on an example of this API that is valid against the schema."""

from __future__ import annotations

from graphql import OperationDefinitionNode, parse, validate

from graphql_api import graphiql
from graphql_api.schema import schema


def test_the_graphiql_example_is_a_valid_query_and_subscription_of_this_api() -> None:
    document = parse(graphiql.EXAMPLE.read_text(encoding="utf-8"))
    assert validate(schema._schema, document) == []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert [op.operation.value for op in operations] == ["query", "subscription"]


def test_the_graphiql_page_opens_on_the_example_not_the_welcome_text() -> None:
    page = graphiql.graphiql_page().body.decode()
    assert "Welcome to GraphiQL" not in page
    assert "subscription LivePrices" in page and "query TopExchanges" in page
