"""The harvest itself, apart from the processes that run it: the ccxt adapter
(`adapter`), tickers to market rows (`tickers`), USD volume (`volume`), the write path
(`write`), run records (`runs`), and one run end to end (`pipeline`).
"""
