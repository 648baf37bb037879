"""GraphiQL without internet: the page and its assets are served by the API itself.

``static/graphiql.html`` is strawberry's own GraphiQL template with every unpkg.com URL
pointing at ``/static/graphiql/<package>@<version>/…``, the same files vendored from
the npm registry by ``scripts/vendor_graphiql.py`` (which also checks their integrity
hashes). A Content-Security-Policy keeps the page on this origin. The editor opens on
``static/graphiql_example.graphql`` instead of the template's welcome text.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = STATIC / "graphiql"
PAGE = STATIC / "graphiql.html"
EXAMPLE = STATIC / "graphiql_example.graphql"
_TEMPLATE_EXAMPLE = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)
ASSETS_URL = "/static/graphiql"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # the template's inline bootstrap script
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)


@cache
def _page() -> str:
    example = f"const EXAMPLE_QUERY = {json.dumps(EXAMPLE.read_text(encoding='utf-8'))};"
    page, replaced = _TEMPLATE_EXAMPLE.subn(lambda _: example, PAGE.read_text(encoding="utf-8"))
    assert replaced == 1, f"{PAGE.name} no longer defines EXAMPLE_QUERY"
    return page


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(
        _page(),
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS, check_dir=False)
