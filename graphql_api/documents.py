"""Parsed and validated documents, each in a bounded cache: most clients repeat their
queries, and a document's parse and validation depend on its text alone (and on the
schema's fixed rules)."""

from __future__ import annotations

import functools

from graphql import parse
from strawberry.schema.schema import validate_document

from graphql_api.limits import DOCUMENT_CACHE_SIZE

parse_document = functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(parse)
"""graphql-core's `parse` (errors, such as too many tokens, are not cached)."""

validate_parsed = functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(validate_document)
"""strawberry's `validate_document(schema, document, rules)`: the errors, if any."""
