"""Errors that end a command or a process with one readable line instead of a traceback.

A leaf module: the other modules raise these, so it imports none of them. Catch
`UserFacingError` to print the message and exit; each subclass says what went wrong.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """Its message, alone on one line, tells the user what to fix."""


class SettingsError(UserFacingError, ValueError):
    """A configuration variable is missing or malformed."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class DatabaseUnavailable(UserFacingError, RuntimeError):
    """The database cannot be reached; the message names the (masked) URL."""


class MigrationError(UserFacingError, RuntimeError):
    """The database's migration history does not match the files."""


class NotMigrated(UserFacingError, RuntimeError):
    """The database lacks migrations this code needs."""

    def __init__(self, pending: list[str]) -> None:
        super().__init__(
            f"the database is not migrated ({len(pending)} pending: {', '.join(pending)}); "
            "run `marketmanager migrate`"
        )
        self.pending = pending


class CommandError(UserFacingError, RuntimeError):
    """A command was given something it cannot do; the message says what."""
