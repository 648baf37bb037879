"""A small GraphQL-over-HTTP client for the tests."""

from __future__ import annotations

from typing import Any

import httpx

GRAPHQL_RESPONSE = "application/graphql-response+json"


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.url = f"{base_url}/graphql"
        self.http = httpx.Client(timeout=30)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        accept: str | None = "application/json",
        headers: dict[str, str] | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if accept is not None:
            sent["accept"] = accept
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return self.http.post(self.url, json=body, headers=sent)

    def query(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The `data` of a query that must succeed."""
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def errors(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The errors of a request that must fail, as (code, field, message) triples."""
        response = self.post(query, variables, **kwargs)
        payload = response.json()
        assert payload.get("errors"), payload
        return [
            (
                e.get("extensions", {}).get("code"),
                e.get("extensions", {}).get("field"),
                e["message"],
            )
            for e in payload["errors"]
        ]

    def close(self) -> None:
        self.http.close()
