"""The `scheduler` child: queues a SCHEDULE run for each exchange that is due
(`process`), by pure decisions (`decisions`).
"""
