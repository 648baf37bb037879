"""The GraphQL schema (DESIGN section 5)."""

from __future__ import annotations

import ccxt
import strawberry


@strawberry.type
class Query:
    @strawberry.field(description="Every exchange id that ccxt knows, sorted.")
    def supported_exchanges(self) -> list[str]:
        return sorted(ccxt.exchanges)


schema = strawberry.Schema(query=Query)
