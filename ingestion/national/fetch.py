"""Where a platform's files come from: a folder, a clone of its data repository, or over HTTP from the
place it publishes them (``<site>/data/indicator_<id>.csv`` and ``<site>/indicator-config/<id>.yml``, the
layout of an Open SDG data repository), fetched with the retrying client the other APIs use into a local
copy that is then read exactly like a folder.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from ingestion.http_retry import Retry, RetryPolicy, status_retry, with_retries
from ingestion.national.platform import Platform
from ingestion.partners.codes import Problem

log = logging.getLogger(__name__)
CONFIG_FOLDER = "indicator-config"


@dataclass
class PlatformFiles:
    data_dir: Path | None
    config_dir: Path | None
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why it was not read)
    problems: list[Problem] = field(default_factory=list)  # the platform's own (unreachable, missing folder)
    complete: bool = True  # every file the platform has is here: one missing since last time was withdrawn


class Unreachable(Exception):
    pass


def _csv_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() == ".csv"
                  and not path.name.startswith((".", "~$")))


def local_files(platform: Platform) -> PlatformFiles:
    """A folder, or a repository clone (``data/`` and ``indicator-config/``)."""
    source = platform.source
    data_dir = source.folder if source.folder else source.repository / "data"
    config_dir = (data_dir if source.folder else source.repository) / CONFIG_FOLDER
    result = PlatformFiles(data_dir, config_dir if config_dir.is_dir() else None)
    if not data_dir.is_dir():
        result.complete = False
        result.problems.append(Problem(
            "platform_unreachable", f"the platform's folder {data_dir} does not exist",
            "Check source in the platform contract (and that the repository was cloned); the files landed "
            "before stay in use."))
        return result
    result.files = _csv_files(data_dir)
    return result


@dataclass
class SiteFetcher:
    session: requests.Session = field(default_factory=requests.Session)
    timeout: tuple[float, float] = (10.0, 60.0)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    retries: int = 0

    def get(self, url: str) -> bytes | None:
        """The body, or None for a 404; raises ``Unreachable`` when every attempt failed."""

        def attempt(number: int) -> bytes | None | Retry:
            try:
                response = self.session.get(url, timeout=self.timeout)
            except requests.RequestException as exc:
                return Retry(f"{type(exc).__name__}")
            if (retry := status_retry(response)) is not None:
                return retry
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise Unreachable(f"{url} answered HTTP {response.status_code}")
            return response.content

        return with_retries(attempt, self.policy, sleep=self.sleep, on_retry=self._count,
                            give_up=lambda reason: Unreachable(f"{url}: {reason}"))

    def _count(self) -> None:
        self.retries += 1


def _write_if_changed(path: Path, body: bytes) -> None:
    # Unchanged bytes keep their file (and its time): the night then finds nothing new to land.
    if path.exists() and path.read_bytes() == body:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(body)
    os.replace(partial, path)


def site_files(platform: Platform, cache_dir: Path, fetcher: SiteFetcher) -> PlatformFiles:
    """Each listed indicator's CSV (and configuration, where published) into ``cache_dir``, then read from there.
    An indicator that cannot be fetched keeps what landed from it before; a site that cannot be reached at
    all is the platform's problem, reported, and the run goes on."""
    site = platform.source.site
    data_dir, config_dir = cache_dir / "data", cache_dir / CONFIG_FOLDER
    result = PlatformFiles(data_dir, config_dir)
    wanted = {f"indicator_{indicator}.csv" for indicator in platform.source.indicators}
    failures = 0
    for indicator in platform.source.indicators:
        name = f"indicator_{indicator}.csv"
        try:
            body = fetcher.get(f"{site}/data/{name}")
        except Unreachable as exc:
            failures += 1
            result.complete = False
            kept = " (the copy fetched before is read instead)" if (data_dir / name).exists() else ""
            result.skipped.append((name, f"not fetched: {exc}{kept}"))
            continue
        if body is None:
            result.complete = False
            kept = " (the copy fetched before is read instead)" if (data_dir / name).exists() else ""
            result.skipped.append((name, f"{site}/data/{name} does not exist (HTTP 404){kept}"))
            continue
        _write_if_changed(data_dir / name, body)
        try:
            config = fetcher.get(f"{site}/{CONFIG_FOLDER}/{indicator}.yml")
        except Unreachable:
            config = None
        if config is not None:
            _write_if_changed(config_dir / f"{indicator}.yml", config)
    if failures and failures == len(platform.source.indicators):
        result.problems.append(Problem(
            "platform_unreachable", f"{site} could not be reached ({result.skipped[0][1]})",
            "Nothing to do: it is tried again at the next run; the files landed before stay in use."))
    result.files = [path for path in _csv_files(data_dir) if path.name in wanted] if data_dir.is_dir() else []
    return result
