"""Which columns a page of rows must carry: those behind the fields selected on its nodes.

A page of markets used to load every column of every row (20 with the keys) for a client
that asked for two fields, and loading them in psycopg was then the largest cost of the
request. A listing now selects the columns of the fields that the query selects under
``nodes`` and ``edges { node }`` (fragments included; directives ignored, so a field
skipped by ``@skip`` costs its column and nothing breaks), plus the ids. A field the
type's `Projection` does not know makes the page load every column, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from strawberry.types.nodes import SelectedField, Selection
from strawberry.types.private import is_private
from strawberry.utils.str_converters import to_camel_case

Columns = tuple[str, ...]  # sorted column names; None stands for all of them
COLUMNS_CACHE_SIZE = 4096  # connection fields of the documents in `documents`' caches


@dataclass(frozen=True, eq=False)  # one per type, compared by identity
class Projection:
    """The columns of a row type: the ones always loaded, and each field's."""

    always: Columns
    fields: Mapping[str, Columns]  # GraphQL field name -> the columns it reads

    def columns(self, names: Iterable[str]) -> Columns | None:
        """The columns the fields `names` need; None (every column) if one is unknown."""
        needed = set(self.always)
        for name in names:
            columns = self.fields.get(name)
            if columns is None:
                return None
            needed.update(columns)
        return tuple(sorted(needed))


def plain_columns(cls: type, **computed: Columns) -> dict[str, Columns]:
    """Field name -> columns for a strawberry type whose attributes are its columns: each
    field without a resolver reads the column of its name; `computed` (by GraphQL name)
    says what the others read. ``__typename`` reads nothing."""
    definition: Any = cls.__strawberry_definition__  # type: ignore[attr-defined]
    fields: dict[str, Columns] = {"__typename": ()}
    for field in definition.fields:
        if field.base_resolver is None and not is_private(field.type):
            fields[field.graphql_name or to_camel_case(field.python_name)] = (field.python_name,)
    fields.update(computed)
    return fields


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, with those of its fragments."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def node_field_names(connection: Iterable[Selection]) -> set[str]:
    """The names of the fields selected on the nodes of the connection fields
    `connection` (what strawberry's ``info.selected_fields`` gives a resolver)."""
    names: set[str] = set()
    for field in _fields(connection):
        for child in _fields(field.selections):
            if child.name == "nodes":
                names.update(node.name for node in _fields(child.selections))
            elif child.name == "edges":
                for edge in _fields(child.selections):
                    if edge.name == "node":
                        names.update(node.name for node in _fields(edge.selections))
    return names
