"""The schema's one extension: it guards each operation (who may run it, with what
variables, how big) and caches documents.

Each extension costs CPU on every request (strawberry looks at all its hooks again):
one extension with the four hooks it needs, stepped by `graphql_api.extension_runner`,
costs far less than one per rule. The rules stay plain functions elsewhere (`limits`,
`storable`, `documents`) and are called from here; their hooks must not catch what
happens while they are suspended at ``yield`` (the runner does not throw it in).

- before parsing: the token limit (`limits.MAX_TOKENS`) and the validation rules of
  `limits.validation_rules` are set; a request with an Authorization header must carry
  a valid token, and with MM_API_REQUIRE_TOKEN=1 every request must (UNAUTHENTICATED
  otherwise);
- parsing and validation go through the caches of `graphql_api.documents`;
- before execution: a document of several operations needs ``operationName`` (strawberry
  would pick the first); variables are coerced here first, so that a bad one is refused
  as ``BAD_USER_INPUT`` naming it (also one holding text PostgreSQL cannot store,
  `graphql_api.storable`); then the node budget of `limits` is checked;
- after: the operation's name and type go to the request's trace (log line, metrics).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Generator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    VariableDefinitionNode,
    get_operation_ast,
    get_variable_values,
)
from strawberry.extensions import SchemaExtension

from graphql_api.auth import READ, require_scope
from graphql_api.context import Context
from graphql_api.documents import parse_document, validate_parsed
from graphql_api.errors import BAD_USER_INPUT, VALIDATION_FAILED, coded
from graphql_api.identity_cache import IdentityCache
from graphql_api.limits import (
    DOCUMENT_CACHE_SIZE,
    MAX_NODES,
    MAX_TOKENS,
    estimate_nodes,
    node_budget_error,
)
from graphql_api.storable import unstorable_variables

_static_nodes: IdentityCache[int] = IdentityCache(DOCUMENT_CACHE_SIZE)  # no variables


class OperationGuard(SchemaExtension):
    """Made for each request (strawberry calls the schema's factory), with the schema's
    validation rules."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.rules = rules

    async def on_operation(self) -> AsyncGenerator[None, None]:
        execution = self.execution_context
        execution.parse_options["max_tokens"] = MAX_TOKENS
        execution.validation_rules = self.rules
        context = execution.context
        guarded = isinstance(context, Context)
        if guarded and (context.authorization is not None or context.settings.api_require_token):
            principal = await context.principal()
            if context.settings.api_require_token:
                require_scope(principal, READ)
        yield
        if isinstance(context, Context):
            self._trace(context)

    def on_parse(self) -> Generator[None, None, None]:
        execution = self.execution_context
        execution.graphql_document = parse_document(execution.query, **execution.parse_options)
        yield

    def on_validate(self) -> Generator[None, None, None]:
        execution = self.execution_context
        document = execution.graphql_document
        assert document is not None, "strawberry validates a parsed document"
        execution.pre_execution_errors = validate_parsed(
            execution.schema._schema, document, execution.validation_rules
        )
        yield

    def on_execute(self) -> Generator[None, None, None]:
        refusal = self._refusal()
        if refusal:
            self.execution_context.result = ExecutionResult(data=None, errors=refusal)
        yield

    def _refusal(self) -> list[GraphQLError] | None:
        execution = self.execution_context
        document = execution.graphql_document
        if document is None:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        # strawberry would run the first one; the spec wants the client to choose
        if len(operations) > 1 and getattr(execution, "_provided_operation_name", None) is None:
            message = "the document has several operations: say which in `operationName`"
            return [coded(message, VALIDATION_FAILED)]
        operation = get_operation_ast(document, execution.operation_name)
        if operation is None:
            return None  # graphql-core says why
        schema = execution.schema._schema
        if not operation.variable_definitions:  # the estimate depends on the document alone
            nodes = _static_nodes.get(
                (schema, document, operation),
                lambda: estimate_nodes(schema, operation, _fragments(document), {}),
            )
        else:
            coerced = get_variable_values(
                schema, operation.variable_definitions, execution.variables or {}, 20
            )
            if isinstance(coerced, list):
                return [_bad_variable(error) for error in coerced]
            unstorable = unstorable_variables(coerced.coerced)
            if unstorable:
                return unstorable
            nodes = estimate_nodes(schema, operation, _fragments(document), coerced.coerced)
        return [node_budget_error(nodes)] if nodes > MAX_NODES else None  # type: ignore[list-item]

    def _trace(self, context: Context) -> None:
        execution = self.execution_context
        context.trace.operation_name = execution.operation_name
        with contextlib.suppress(RuntimeError):  # no single operation in the document
            context.trace.operation_type = execution.operation_type.value


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _bad_variable(error: GraphQLError) -> GraphQLError:
    extensions: dict[str, Any] = {"code": BAD_USER_INPUT}
    node = error.nodes[0] if error.nodes else None
    if isinstance(node, VariableDefinitionNode):
        extensions["field"] = "$" + node.variable.name.value
    error.extensions = extensions
    return error
