"""The ``api.request`` line's logger, assembled once, still follows structlog's
configuration: each capture gets the lines written while it is in place."""

from __future__ import annotations

from structlog.testing import capture_logs

from graphql_api.metrics import AccessLogger


def test_access_lines_go_where_the_current_configuration_sends_them() -> None:
    access = AccessLogger()
    with capture_logs() as first:
        access.info("api.request", status=200)
        access.info("api.request", status=400)
    with capture_logs() as second:
        access.info("api.request", status=500)
    assert [line["status"] for line in first] == [200, 400]
    assert second == [{"event": "api.request", "status": 500, "log_level": "info"}]
