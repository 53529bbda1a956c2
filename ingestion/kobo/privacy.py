"""Privacy at landing: keyed hashing of identifiers and coarsening of coordinates.

Identifiers (submission uuids, respondent ids) are replaced by HMAC-SHA256(PII_SALT, id): stable
across loads, so dbt can join and deduplicate, but not reversible without the salt, which lives
only in the environment. Without a salt, real KoBo data does not land at all. Fictional data
(``synthetic: true`` in its contract: the bundled sample and the tests) may use the public salt
below instead; it is public on purpose, so it protects nothing and must never hash real people.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field

from ingestion.kobo.contract import GpsSpec, KoboContract
from ingestion.kobo.errors import PiiSaltMissingError

# Public, documented, and only accepted for contracts marked synthetic: true.
PUBLIC_TEST_SALT = "inclusive-sdg-pipeline/kobo/public-test-salt/fictional-data-only"
MIN_SALT_LENGTH = 16

SALT_CONFIGURED = "configured"
SALT_PUBLIC_TEST = "public_test_salt"


@dataclass(frozen=True)
class Hasher:
    """HMAC-SHA256 with the salt; the salt is kept out of repr so it never reaches a log."""

    salt: bytes = field(repr=False)
    kind: str  # configured | public_test_salt

    def __call__(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return hmac.new(self.salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


def hasher_for(contract: KoboContract, pii_salt: str | None) -> Hasher:
    """The hasher for this survey, or a refusal when real data would land without ``PII_SALT``."""
    if pii_salt:
        if len(pii_salt) < MIN_SALT_LENGTH:
            raise PiiSaltMissingError(
                f"survey {contract.survey_id}: PII_SALT is too short ({len(pii_salt)} characters). "
                f"Fix: set PII_SALT to at least {MIN_SALT_LENGTH} random characters, kept outside the repository"
            )
        return Hasher(pii_salt.encode("utf-8"), SALT_CONFIGURED)
    if contract.synthetic:
        return Hasher(PUBLIC_TEST_SALT.encode("utf-8"), SALT_PUBLIC_TEST)
    raise PiiSaltMissingError(
        f"survey {contract.survey_id} ({contract.origin}): PII_SALT is not set, so respondent identifiers "
        "cannot be hashed and nothing was landed. Fix: set PII_SALT in the environment (a long random "
        "secret, never committed). Only contracts with synthetic: true (fictional data) may land without it"
    )


def parse_coordinates(latitude: str | None, longitude: str | None) -> tuple[float | None, float | None, str]:
    """(latitude, longitude, status): status is valid, missing or invalid (unparseable, out of range, 0/0)."""
    if not (latitude or "").strip() and not (longitude or "").strip():
        return None, None, "missing"
    try:
        lat, lon = float(latitude or ""), float(longitude or "")
    except ValueError:
        return None, None, "invalid"
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None, "invalid"
    if lat == 0 and lon == 0:  # the "null island" a device reports when it has no fix
        return None, None, "invalid"
    return lat, lon, "valid"


def coarsen(latitude: float | None, longitude: float | None, gps: GpsSpec) -> tuple[float | None, float | None]:
    """Drop the point, or round it to ``gps.decimals`` (1 decimal is about 11 km, 2 about 1.1 km)."""
    if gps.policy == "drop" or latitude is None or longitude is None:
        return None, None
    return round(latitude, gps.decimals), round(longitude, gps.decimals)
