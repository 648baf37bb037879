"""Copies of the migrated template, one made ahead while the test before it runs.

``CREATE DATABASE … TEMPLATE …`` is a fraction of a second of server work for every test
that asks for its own database (a few hundred per session); most of those tests spend
their time waiting on processes they started, so the next copy is made in a thread
meanwhile. A copy made ahead that failed (the server restarted under a restart test, say)
is dropped if it exists and made again when taken.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg

from marketmanager import db
from marketmanager.errors import DatabaseUnavailable

PREFIX = "mm_test"


class TemplateCopies:
    """Databases copied from `template` on `server_url`, each dropped by `drop`."""

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self._maker = ThreadPoolExecutor(1, thread_name_prefix="template-copies")
        self._ahead: tuple[str, Future[str]] | None = None

    def _make(self, name: str) -> str:
        return db.create_database(self.server_url, name, template=self.template)

    def _make_ahead(self) -> None:
        name = db.scratch_name(PREFIX)
        self._ahead = (name, self._maker.submit(self._make, name))

    def take(self) -> tuple[str, str]:
        """A new database for one test: its name and URL."""
        made: tuple[str, str] | None = None
        if self._ahead is not None:
            name, future = self._ahead
            self._ahead = None
            try:
                made = name, future.result()
            except (DatabaseUnavailable, psycopg.Error):  # made again below, here
                self._forget(name)
        if made is None:
            name = db.scratch_name(PREFIX)
            made = name, self._make(name)
        self._make_ahead()
        return made

    def drop(self, name: str) -> None:
        db.drop_database(self.server_url, name)

    def _forget(self, name: str) -> None:
        """Drop `name` if a failed copy left it behind (and the server answers)."""
        with contextlib.suppress(DatabaseUnavailable, psycopg.Error, OSError):
            self.drop(name)

    def close(self) -> None:
        """Wait for the copy made ahead and drop it."""
        if self._ahead is not None:
            name, future = self._ahead
            self._ahead = None
            with contextlib.suppress(Exception):
                future.result()
            self._forget(name)
        self._maker.shutdown(wait=True)
