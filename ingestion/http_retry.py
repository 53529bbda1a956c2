"""What the API clients share: a bounded retry loop with exponential backoff and jitter, and the
reading of ``Retry-After`` and ``Date`` headers.

Each client decides, per attempt, what a response means (a result, an error not worth retrying, or
a ``Retry``); this module only decides when to try again and how long to wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

T = TypeVar("T")


@dataclass(frozen=True)
class FetchedJson:
    """A JSON response as the clients keep it: decoded, with the lineage every landed row records."""

    data: Any
    url: str  # without query parameters where they hold secrets or paging
    sha256: str  # of the body exactly as received
    fetched_at: datetime
    attempts: int
    body: bytes = b""  # the body as received (minus NUL padding), where the caller parses it again (SDG data pages)


@dataclass(frozen=True)
class Retry:
    """An attempt that failed in a way worth repeating: what went wrong, and the wait the server asked for."""

    problem: str
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base: float = 1.0  # seconds before the first retry (at most; jittered down to half)
    backoff_max: float = 60.0

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter so parallel workers do not retry in step


def with_retries(
    attempt: Callable[[int], T | Retry],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    on_retry: Callable[[], None],
    give_up: Callable[[str], Exception],
) -> T:
    """Call ``attempt(1)``, ``attempt(2)``, ... until it returns a result; when ``policy.max_attempts`` ran
    out, raise ``give_up(reason)``, the reason naming the attempts and the last problem. Exceptions raised
    by ``attempt`` (answers not worth retrying) pass straight through."""
    outcome: T | Retry = Retry("no attempt made")
    for number in range(1, policy.max_attempts + 1):
        outcome = attempt(number)
        if not isinstance(outcome, Retry):
            return outcome
        if number < policy.max_attempts:
            on_retry()
            sleep(outcome.retry_after if outcome.retry_after is not None else policy.backoff(number))
    raise give_up(f"gave up after {policy.max_attempts} attempts; last problem: {outcome.problem}")


def status_retry(response: requests.Response) -> Retry | None:
    """A ``Retry`` for a status worth retrying (honouring ``Retry-After`` on 429), else None."""
    status = response.status_code
    if status not in RETRYABLE_STATUS:
        return None
    response.close()  # the body is not wanted; do not leave the connection half-read
    return Retry(f"HTTP {status}", retry_after_seconds(response) if status == 429 else None)


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds, or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def response_time(response: requests.Response) -> datetime:
    """When the server answered (its ``Date`` header), else now; always UTC."""
    header = response.headers.get("Date")
    if header:
        try:
            return parsedate_to_datetime(header).astimezone(timezone.utc)
        except (TypeError, ValueError):
            pass
    return datetime.now(timezone.utc)
