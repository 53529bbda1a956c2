"""The retry loop and header reading shared by the SDG and KoBo clients (ingestion/http_retry.py).

The clients' own tests drive these through a local server; here the edge cases that are awkward to
reach that way: an HTTP-date Retry-After, a missing or broken Date header, the backoff ceiling, and an
error that must not be retried."""

import io
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from ingestion.http_retry import Retry, RetryPolicy, response_time, retry_after_seconds, status_retry, with_retries


def response(status: int, **headers: str) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made.headers.update(headers)
    made.raw = io.BytesIO(b"")
    return made


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after_seconds(response(429, **{"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(response(429, **{"Retry-After": "-3"})) == 0.0
    in_a_minute = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(response(429, **{"Retry-After": in_a_minute})) <= 60
    assert retry_after_seconds(response(429, **{"Retry-After": "soon"})) is None
    assert retry_after_seconds(response(429)) is None


def test_only_throttling_and_server_errors_are_retried():
    assert status_retry(response(429, **{"Retry-After": "2"})) == Retry("HTTP 429", 2.0)
    assert status_retry(response(503, **{"Retry-After": "2"})) == Retry("HTTP 503", None)  # only 429 is honoured
    for status in (200, 400, 401, 404):
        assert status_retry(response(status)) is None


def test_response_time_is_the_servers_date_in_utc_else_now():
    assert response_time(response(200, Date="Sat, 21 Nov 2026 10:00:00 GMT")) == datetime(2026, 11, 21, 10, tzinfo=timezone.utc)
    before = datetime.now(timezone.utc)
    for broken in ({}, {"Date": "yesterday"}):
        assert before <= response_time(response(200, **broken)) <= datetime.now(timezone.utc)


def test_backoff_doubles_with_jitter_up_to_its_ceiling():
    policy = RetryPolicy(max_attempts=10, backoff_base=1.0, backoff_max=5.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert max(waits) - min(waits) > 0  # jittered, so parallel workers do not retry in step


def test_retries_until_a_result_counting_each_retry():
    outcomes = iter([Retry("HTTP 500"), Retry("HTTP 429", 3.0), "the page"])
    sleeps, retries = [], []
    result = with_retries(lambda number: next(outcomes), RetryPolicy(max_attempts=5), sleep=sleeps.append,
                          on_retry=lambda: retries.append(1), give_up=RuntimeError)
    assert result == "the page"
    assert len(retries) == 2 and sleeps[1] == 3.0 and 0.5 <= sleeps[0] <= 1.0


def test_gives_up_with_the_last_problem_without_sleeping_after_the_last_attempt():
    attempts, sleeps = [], []
    with pytest.raises(LookupError, match=r"^gave up after 3 attempts; last problem: problem 3$"):
        with_retries(lambda number: attempts.append(number) or Retry(f"problem {number}"),
                     RetryPolicy(max_attempts=3), sleep=sleeps.append, on_retry=lambda: None, give_up=LookupError)
    assert attempts == [1, 2, 3] and len(sleeps) == 2


def test_an_error_not_worth_retrying_passes_straight_through():
    calls = []

    def refuse(number: int) -> str:
        calls.append(number)
        raise PermissionError("HTTP 401")

    with pytest.raises(PermissionError):
        with_retries(refuse, RetryPolicy(max_attempts=5), sleep=lambda _: None, on_retry=lambda: None,
                     give_up=RuntimeError)
    assert calls == [1]
