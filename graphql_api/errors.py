"""Errors of the API: every GraphQL error leaves with an ``extensions.code``.

Resolvers raise the `ApiError` subclasses; graphql-core copies their ``extensions`` onto
the GraphQL error. `present_errors` (run by the schema on every error, once) gives the
others a code too: parse and validation failures keep their message, anything else is
an unexpected failure, logged in full and masked as ``INTERNAL``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import structlog
from graphql import GraphQLError, GraphQLSyntaxError

log = structlog.get_logger()

NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
CONFLICT = "CONFLICT"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL = "INTERNAL"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"

MASKED_MESSAGE = "Internal server error"
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class ApiError(Exception):
    """An error a client can act on; `code` goes to ``extensions.code``."""

    code = INTERNAL

    def __init__(self, message: str, *, field: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": self.code}
        if field is not None:
            self.extensions["field"] = field
        self.extensions.update(extensions)


class NotFound(ApiError):
    code = NOT_FOUND


class BadUserInput(ApiError):
    code = BAD_USER_INPUT


class Unauthenticated(ApiError):
    code = UNAUTHENTICATED


class Forbidden(ApiError):
    code = FORBIDDEN


class Conflict(ApiError):
    code = CONFLICT


class ServiceUnavailable(ApiError):
    """The database cannot be reached now (restarting, down): try again shortly."""

    code = SERVICE_UNAVAILABLE


# The HTTP status of a response without data (application/graphql-response+json) whose
# errors carry one of these codes; other request errors are 400.
REQUEST_ERROR_STATUS = {UNAUTHENTICATED: 401, FORBIDDEN: 403, SERVICE_UNAVAILABLE: 503}


def request_error_status(codes: set[str]) -> int:
    """The HTTP status of a request error (no data) with these error codes."""
    for code, status in REQUEST_ERROR_STATUS.items():
        if code in codes:
            return status
    return 500 if codes == {INTERNAL} else 400


def only_unavailable(errors: Iterable[GraphQLError]) -> bool:
    """True when every error says the database is unavailable (and there is one)."""
    codes = {(error.extensions or {}).get("code") for error in errors}
    return codes == {SERVICE_UNAVAILABLE}


def coded(message: str, code: str, **extensions: Any) -> GraphQLError:
    """A GraphQL error raised outside resolvers (limits, variables) with its code."""
    return GraphQLError(message, extensions={"code": code, **extensions})


def error_code(error: GraphQLError) -> str:
    """The code an error leaves with (see the module docstring)."""
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    if isinstance(error, GraphQLSyntaxError):
        return PARSE_FAILED
    if error.original_error is None and error.path is None:
        return VALIDATION_FAILED
    return INTERNAL


def present_errors(errors: Iterable[GraphQLError], *, suggestions: bool) -> None:
    """Give each error its code; mask and log the unexpected ones; strip "Did you mean"
    hints when `suggestions` is off (the schema must not leak through them)."""
    for error in errors:
        code = error_code(error)
        if code == INTERNAL and error.message != MASKED_MESSAGE:
            original = error.original_error or error
            log.error(
                "api.internal_error",
                error=f"{type(original).__name__}: {original}",
                path=error.path,
                exc_info=(type(original), original, original.__traceback__),
            )
            error.message = MASKED_MESSAGE
        elif not suggestions:
            error.message = _SUGGESTION.sub("", error.message)
        error.extensions = {**(error.extensions or {}), "code": code}
