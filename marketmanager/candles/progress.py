"""A backfill job's row in words: the progress bar and the summary of the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BAR_WIDTH = 30


def fraction_done(job: Mapping[str, Any]) -> float:
    """From 0 to 1: markets done, plus how far the current one's range has come."""
    total = job.get("markets_total") or 0
    if not total:
        return 0.0
    done = job.get("markets_done") or 0
    part = 0.0
    since, until, cursor = job.get("since"), job.get("until_ts"), job.get("cursor_at")
    if since is not None and until is not None and cursor is not None and until > since:
        part = min(max((cursor - since) / (until - since), 0.0), 1.0)
    return min((done + (part if done < total else 0.0)) / total, 1.0)


def progress_bar(job: Mapping[str, Any], width: int = BAR_WIDTH) -> str:
    if job["state"] == "QUEUED":
        return f"queued (backfill {job['id']}), waiting for the harvester's backfill lane…"
    share = 1.0 if job["state"] == "SUCCEEDED" else fraction_done(job)
    filled = round(share * width)
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {share:4.0%}"
        f"  {job.get('markets_done') or 0}/{job.get('markets_total') or '?'} markets"
        f"  {job['candles_stored']:,} candles  {job['requests']:,} requests"
    )


def describe_result(job: Mapping[str, Any]) -> str:
    """One line (two when the exchange keeps a short history) for a finished job."""
    span = ""
    if job.get("covered_from") and job.get("covered_to"):
        span = (
            f" from {job['covered_from']:%Y-%m-%d %H:%M} to {job['covered_to']:%Y-%m-%d %H:%M} UTC"
        )
    text = (
        f"{job['exchange']} {job['timeframe']}: {job['candles_stored']:,} candles stored for"
        f" {job.get('markets_total') or 0} market(s){span} in {job['requests']:,} requests"
    )
    if job.get("no_trade_gaps"):
        text += f"; {job['no_trade_gaps']} gap(s) without trades"
    text += f" [backfill {job['id']}]"
    if job.get("unavailable_before"):
        text += (
            f"\n{job['exchange']} serves no {job['timeframe']} candle before"
            f" {job['unavailable_before']:%Y-%m-%d %H:%M} UTC: older history is not available"
        )
    return text
