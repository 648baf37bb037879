"""The sub-commands of `marketmanager`, one module each."""

from __future__ import annotations

from types import ModuleType

from marketmanager.commands import migrate

COMMANDS: list[ModuleType] = [migrate]
