"""Candle backfills: fetch OHLCV pages with ccxt, store them, run the jobs in their own lane.

`paging` decides (pure), `source` fetches, `store` writes, `backfill` runs one job end to
end, `lane` is the harvester child that claims jobs and keeps timeframes current.
"""
