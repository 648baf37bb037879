"""Errors that end a command or a process with one readable line instead of a traceback."""

from __future__ import annotations

from marketmanager.db import DatabaseUnavailable
from marketmanager.migrations import MigrationError, NotMigrated
from marketmanager.settings import SettingsError


class CommandError(RuntimeError):
    """A command was given something it cannot do; the message says what."""


UserFacingError = (SettingsError, DatabaseUnavailable, MigrationError, NotMigrated, CommandError)
