"""/graphql over HTTP, per the GraphQL-over-HTTP spec, on top of strawberry's ASGI view.

- GET (queries only: a mutation is refused with 405) and POST with a JSON body;
- responses in ``application/json`` (200 for every well-formed request, GraphQL errors
  or not) or ``application/graphql-response+json`` when the client prefers it (then a
  request error, i.e. no ``data``, gets 400, or 401/403/500 by its code);
- a malformed request (bad JSON, not an object, no query, batch) gets 400, an unknown
  body type 415, an Accept nothing can satisfy 406, a body over the limit 413; always
  with a GraphQL-shaped JSON body whose errors carry ``extensions.code``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
import structlog
from cross_web import HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from graphql_api.context import Context, RequestTrace
from graphql_api.errors import (
    INTERNAL,
    MASKED_MESSAGE,
    only_unavailable,
    request_error_status,
)
from graphql_api.graphiql import graphiql_page
from graphql_api.limits import MAX_JSON_DEPTH, nested_within
from graphql_api.response_cache.service import Hit, ResponseCache
from marketmanager.settings import Settings

log = structlog.get_logger()

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
TRACE_KEY = "marketmanager.trace"  # the ASGI scope entry holding the RequestTrace
HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


class RequestRefused(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


class BodyTooLarge(Exception):
    pass


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when none is acceptable.

    No header, ``*/*`` or ``application/*`` mean application/json; on equal quality an
    explicit application/graphql-response+json wins.
    """
    if accept is None or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media == GRAPHQL_RESPONSE:
            candidate = (quality, 2, GRAPHQL_RESPONSE)
        elif media == JSON:
            candidate = (quality, 1, JSON)
        elif media in ("application/*", "*/*"):
            candidate = (quality, 0, JSON)
        else:
            continue
        if quality > 0 and (best is None or candidate[:2] > best[:2]):
            best = candidate
    return best[2] if best else None


def status_for(media_type: str, payload: Mapping[str, Any]) -> int:
    """200, except for request errors (no ``data``) under graphql-response+json."""
    if media_type != GRAPHQL_RESPONSE or "data" in payload:
        return 200
    codes = {error.get("extensions", {}).get("code") for error in payload.get("errors", [])}
    return request_error_status(codes)


def dump_json(data: object) -> bytes:
    """Responses in JSON with orjson, several times faster than `json` on a page of
    results; what orjson refuses (an int past 64 bits in a custom scalar, say) goes
    through `json`."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


def error_body(message: str, code: str) -> bytes:
    return json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()


def refusal_response(refusal: RequestRefused, media_type: str) -> Response:
    return Response(
        error_body(refusal.message, refusal.code),
        status_code=refusal.status,
        media_type=f"{media_type}; charset=utf-8",
        headers=refusal.headers,
    )


def _trace(request: Request) -> RequestTrace:
    trace = request.scope.get(TRACE_KEY)
    if not isinstance(trace, RequestTrace):
        trace = request.scope[TRACE_KEY] = RequestTrace()
    return trace


class RequestAdapter(StarletteRequestAdapter):
    """Media types are case-insensitive (RFC 9110): strawberry compares them as given."""

    @property
    def content_type(self) -> str | None:
        content_type = super().content_type
        return content_type.lower() if content_type else content_type


class GraphQLView(GraphQL[Context, None]):
    request_adapter_class = RequestAdapter

    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.api_introspection else None)
        self.settings = settings
        self.cache: ResponseCache | None = None  # set by the app (MM_API_CACHE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        media_type = negotiate(request.headers.get("accept"))
        request.state.media_type = media_type or JSON
        try:
            ide = self._check_headers(request, media_type)
            if self.cache is None or ide:
                response = await self.run(request)
            else:
                response = await self._run_cached(request, self.cache)
        except RequestRefused as refusal:
            response = self._refused(request, refusal)
        except HTTPException as error:
            code = HTTP_CODES.get(error.status_code, "BAD_REQUEST")
            response = self._refused(request, RequestRefused(error.status_code, code, error.reason))
        except BodyTooLarge:
            raise
        except Exception as error:
            log.exception("api.internal_error", error=f"{type(error).__name__}: {error}")
            response = self._refused(request, RequestRefused(500, INTERNAL, MASKED_MESSAGE))
        finally:
            context = getattr(request.state, "context", None)
            if isinstance(context, Context):
                context.release()
        await response(scope, receive, send)

    async def _run_cached(self, request: Request, cache: ResponseCache) -> Response:
        """The kept answer, as early as the body and the caller's scope are known; else
        the answer executed, and kept when it can be (`graphql_api.response_cache`)."""
        found = await cache.lookup(request)
        if isinstance(found, Hit):
            trace = _trace(request)
            trace.operation_name, trace.operation_type = found.operation_name, "query"
            media_type = f"{request.state.media_type}; charset=utf-8"
            return Response(found.body, media_type=media_type)
        if found is None:
            try:
                return await self.run(request)
            finally:
                if _trace(request).operation_type == "mutation":
                    cache.note_write()
        keep = None
        try:
            response = await self.run(request)
            if response.status_code == 200 and getattr(request.state, "keepable", False):
                keep = bytes(response.body)
        finally:
            found.finish(keep)
        return response

    def _check_headers(self, request: Request, media_type: str | None) -> bool:
        """True for GraphiQL's page; raises `RequestRefused` for headers we cannot serve."""
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return True
        if media_type is None:
            accepted = f"{GRAPHQL_RESPONSE} or {JSON}"
            raise RequestRefused(406, "NOT_ACCEPTABLE", f"responses are {accepted}")
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != JSON:
                raise RequestRefused(
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    f"POST bodies must be {JSON}, got {content_type!r}",
                )
        return False

    def _refused(self, request: Request, refusal: RequestRefused) -> Response:
        trace = _trace(request)
        trace.refused = True
        trace.error_codes.append(refusal.code)
        return refusal_response(refusal, request.state.media_type)

    def parse_json(self, data: str | bytes) -> Any:
        """A JSON object: the POST body, or GET's ``variables`` or ``extensions``."""
        try:  # strict UTF-8: json.loads would let encoded surrogates ("\xed\xbf\xbf") pass
            value = json.loads(data.decode() if isinstance(data, bytes) else data)
        except ValueError:  # JSONDecodeError, and UnicodeDecodeError for non-UTF-8 bytes
            raise RequestRefused(400, "BAD_REQUEST", "the body is not valid JSON") from None
        except RecursionError:
            value = None  # nested past the interpreter's limit: past ours too
        if value is None or not nested_within(value, MAX_JSON_DEPTH):
            raise RequestRefused(
                400, "BAD_REQUEST", f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels"
            )
        if not isinstance(value, dict):
            raise RequestRefused(
                400, "BAD_REQUEST", "expected a JSON object (one operation per request)"
            )
        return value

    async def execute_single(self, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        try:
            return await super().execute_single(**kwargs)
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError):
                raise RequestRefused(
                    405, "METHOD_NOT_ALLOWED", error.reason, headers={"Allow": "POST"}
                ) from error
            raise

    async def get_context(self, request: Any, response: Any) -> Context:
        context = request.state.context = Context.create(
            request.app.state.pool,
            self.settings,
            authorization=request.headers.get("authorization"),
            trace=_trace(request),
            request=request,
            response=response,
        )
        return context

    async def get_sub_response(self, request: Any) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.sub_response = sub_response
        return sub_response

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        payload = process_result(result)
        errors = result.errors or []
        if result.data is None and errors and all(error.path is None for error in errors):
            payload.pop("data", None)  # a request error: nothing was executed
        elif result.data is None and only_unavailable(errors):
            payload.pop("data", None)  # nothing could be executed: the database is away
        trace = _trace(request)
        trace.refused = "data" not in payload
        request.state.keepable = not errors and "data" in payload  # the response cache
        trace.error_codes.extend(str((e.extensions or {}).get("code")) for e in errors)
        media_type = request.state.media_type
        request.state.sub_response.media_type = media_type
        request.state.sub_response.status_code = status_for(media_type, payload)
        return payload

    def encode_json(self, data: object) -> bytes:
        return dump_json(data)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON  # set by process_result
        response = Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or 200,
            media_type=f"{media_type}; charset=utf-8",
        )
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = error_body(message, code)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413, by Content-Length or as they
    stream in, before the application buffers them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = f"the request body is over {self.max_bytes} bytes"
        if declared is not None:
            if not declared.isdigit():
                await _send_error(send, 400, "BAD_REQUEST", "invalid Content-Length")
                return
            if int(declared) > self.max_bytes:
                await _send_error(send, 413, "PAYLOAD_TOO_LARGE", too_large)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_error(send, 413, "PAYLOAD_TOO_LARGE", too_large)
