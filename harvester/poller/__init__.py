"""The `poller` child: crashes stale and hung runs, retries failures, keeps the history
partitions (`process`), by pure decisions (`decisions`).
"""
