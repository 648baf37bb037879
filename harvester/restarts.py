"""When to restart a dead child, and when to give up: pure, unit-tested."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RestartPolicy:
    base_delay: float = 0.5
    max_delay: float = 30.0
    window: float = 60.0
    max_restarts: int = 5

    def delay(self, recent: int) -> float:
        """Seconds to wait before the next start, after `recent` restarts in the window."""
        return float(min(self.max_delay, self.base_delay * 2**recent))


@dataclass
class RestartHistory:
    """Restart times of one child; `give_up` once it dies too often within the window."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    times: list[float] = field(default_factory=list)

    def recent(self, now: float) -> int:
        self.times = [t for t in self.times if now - t < self.policy.window]
        return len(self.times)

    def give_up(self, now: float) -> bool:
        return self.recent(now) >= self.policy.max_restarts

    def record(self, now: float) -> float:
        """Record a restart at `now`; return how long to wait before it."""
        delay = self.policy.delay(self.recent(now))
        self.times.append(now)
        return delay
