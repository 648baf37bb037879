"""`python -m graphql_api`: the API under uvicorn, with host and port from the settings."""

from __future__ import annotations

import sys

import uvicorn

from marketmanager import db
from marketmanager.errors import UserFacingError
from marketmanager.logging import configure_logging
from marketmanager.migrations import require_migrated
from marketmanager.settings import Settings


def main() -> int:
    try:
        settings = Settings.from_env()
        configure_logging("api", settings.log_format)
        with db.connect(db.database_url(settings)) as conn:
            require_migrated(conn)
    except UserFacingError as error:
        print(f"api: error: {error}", file=sys.stderr)
        return 2
    from graphql_api.app import create_app
    from graphql_api.runtime import tune_gc

    app = create_app(settings)
    tune_gc()
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
