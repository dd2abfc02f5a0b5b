"""What a client's calls cost, and how the node answered a health probe."""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ChainStats:
    """What a client cost: HTTP requests (retries included), each JSON-RPC method, retries, errors."""

    requests: int = 0
    calls_by_method: Counter = field(default_factory=Counter)
    retries: int = 0
    errors: int = 0  # failed attempts: transport/HTTP errors, JSON-RPC error objects, bad bodies
    rate_limited: int = 0  # HTTP 429 answers (or JSON-RPC 429 errors)
    gave_up: int = 0  # calls that ended in ChainUnavailable


@dataclass(frozen=True)
class ChainHealth:
    ok: bool
    url: str
    slot: int | None = None
    latency_seconds: float | None = None
    error: str | None = None

    @property
    def latency_ms(self) -> int | None:
        return None if self.latency_seconds is None else round(self.latency_seconds * 1000)
