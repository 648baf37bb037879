"""The sub-commands of `marketmanager`, one module each.

A module is imported only when its command runs (or its help is asked for), so that
`marketmanager ctl status` does not pay for ccxt. Each has ``configure(parser)``,
which adds its arguments and sets ``handler`` (parsed arguments → exit code).
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "migrate": "apply pending database migrations",
    "up": "run the api and the harvester under supervisord, in the foreground",
    "daemon": "start/stop/restart/status of the harvester (start brings supervisord up if needed)",
    "ctl": "talk to this host's harvester over its socket",
    "exchanges": "add, list or remove harvested exchanges",
    "harvest": "harvest one exchange now, in the foreground",
    "backfill": "fetch past candles (OHLCV) of an exchange's markets, with a progress bar",
    "runs": "the newest harvest runs and candle backfill jobs, of one exchange or all",
    "simulate": "serve simulated exchanges (binance, kraken) on loopback, with injectable faults",
    "token": "create, list or revoke API tokens",
}
