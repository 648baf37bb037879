"""Candles (OHLCV) facts shared by the harvester, the API and the simulator: pure, no I/O.

`timeframes`: the timeframes, their lengths and bucket arithmetic; `aggregate`: coarser
candles from finer ones; `gaps`: which ranges of a series are missing, and why.
"""
