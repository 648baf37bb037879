"""The sub-commands of `marketmanager`, one module each."""

from __future__ import annotations

from types import ModuleType

from marketmanager.commands import ctl, daemon, exchanges, harvest, migrate, simulate, token, up

COMMANDS: list[ModuleType] = [migrate, up, daemon, ctl, exchanges, harvest, simulate, token]
