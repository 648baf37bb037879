"""Text PostgreSQL can store: one check of every string a request brings.

PostgreSQL's text refuses NUL characters, and UTF-8 (the wire encoding) cannot carry a
lone surrogate (JSON's ``"\\udfff"``). Rather than fail in the database (or in psycopg's
encoder) with an internal error, every string of a request is checked once before it
runs: the literals of the document by `StorableStringsRule` (a validation rule, cached
with the document), the variables by `unstorable_variables` (after coercion). Both
answer BAD_USER_INPUT naming the argument, input field or variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLError,
    Node,
    ObjectFieldNode,
    StringValueNode,
    ValidationRule,
)

from graphql_api.errors import BAD_USER_INPUT


def unstorable(text: str) -> str | None:
    """Why PostgreSQL cannot store `text` (None when it can)."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode()
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def _strings(value: Any) -> Iterator[str]:
    """Every string in a coerced value: itself, or inside lists and input objects."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


def refusal(field: str, reason: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(
        f"{field} {reason}: text must be valid Unicode without NUL characters",
        node,
        extensions={"code": BAD_USER_INPUT, "field": field},
    )


def unstorable_variables(variables: dict[str, Any]) -> list[GraphQLError]:
    """A BAD_USER_INPUT error for each variable holding a string PostgreSQL cannot store."""
    errors = []
    for name, value in variables.items():
        reason = next(filter(None, map(unstorable, _strings(value))), None)
        if reason is not None:
            errors.append(refusal(f"${name}", reason))
    return errors


class StorableStringsRule(ValidationRule):
    """Refuses string literals PostgreSQL cannot store, naming their argument or field."""

    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> None:
        reason = unstorable(node.value)
        if reason is None:
            return
        owners = [*ancestors, parent]
        named = [o for o in owners if isinstance(o, (ArgumentNode, ObjectFieldNode))]
        field = named[-1].name.value if named else "a string"
        self.report_error(refusal(field, reason, node))
