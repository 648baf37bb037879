"""Parsed and validated documents, each in a bounded cache: most clients repeat their
queries, and a document's parse and validation depend on its text alone (and on the
schema's fixed rules)."""

from __future__ import annotations

import functools

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.schema.schema import validate_document

from graphql_api.identity_cache import IdentityCache
from graphql_api.limits import DOCUMENT_CACHE_SIZE

parse_document = functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(parse)
"""graphql-core's `parse` (errors, such as too many tokens, are not cached)."""

_validated: IdentityCache[list[GraphQLError]] = IdentityCache(DOCUMENT_CACHE_SIZE)


def validate_parsed(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """strawberry's `validate_document(schema, document, rules)`: the errors, if any;
    kept by the identity of the three (a document hashes by its content, slowly)."""
    return _validated.get(
        (schema, document, rules), lambda: validate_document(schema, document, rules)
    )
