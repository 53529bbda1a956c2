"""What landing one KoBo source unit gave: counts and codes only, safe for logs and Dagster metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingestion.kobo.validation import set_aside_by_status


@dataclass(frozen=True)
class KoboIngestResult:
    """What one source unit gave; safe for logs and Dagster metadata (counts and codes only).

    ``submissions_read = submissions_landed + submissions_excluded``: identity and test rules exclude at
    landing. Of the landed submissions, the survey's validation status policy publishes some and sets the
    others aside (``validation_statuses``, per status: landed, published, set_aside); dbt applies it.
    """

    survey_id: str
    source_id: str
    source_kind: str
    batch_id: str
    salt_kind: str
    submissions_read: int
    submissions_landed: int
    exclusions: dict[str, int]  # reason -> submissions
    repeat_rows_read: int = 0
    repeat_rows_landed: int = 0
    repeat_exclusions: dict[str, int] = field(default_factory=dict)
    invalid_coordinates: int = 0
    form_versions: tuple[str, ...] = ()
    field_issues: dict[str, int] = field(default_factory=dict)  # "field: issue" -> rows
    unmapped_columns: tuple[str, ...] = ()  # columns neither mapped nor personal: review for schema drift
    personal_columns_dropped: int = 0
    api_pages: int | None = None
    api_retries: int | None = None
    api_restarts: int | None = None
    validation_policy: str = ""  # the contract's published_validation_statuses
    validation_statuses: dict[str, dict[str, int]] = field(default_factory=dict)  # status -> landed/published/set_aside

    @property
    def submissions_excluded(self) -> int:
        return sum(self.exclusions.values())

    @property
    def submissions_published(self) -> int:
        """Landed submissions whose validation status the survey's policy publishes."""
        return sum(item["published"] for item in self.validation_statuses.values())

    @property
    def set_aside_by_policy(self) -> dict[str, int]:
        """Validation status -> landed submissions the policy does not publish (statuses with any)."""
        return set_aside_by_status(self.validation_statuses)

    def metadata(self) -> dict[str, Any]:
        """Flat values for Dagster asset metadata."""
        return {
            "survey_id": self.survey_id,
            "source_id": self.source_id,
            "batch_id": self.batch_id,
            "salt_kind": self.salt_kind,
            "submissions_read": self.submissions_read,
            "submissions_landed": self.submissions_landed,
            "submissions_excluded": self.submissions_excluded,
            "exclusions": dict(self.exclusions),
            "published_validation_statuses": self.validation_policy,
            "submissions_published": self.submissions_published,
            "submissions_set_aside_by_policy": sum(self.set_aside_by_policy.values()),
            "validation_statuses": {status: dict(item) for status, item in self.validation_statuses.items()},
            "repeat_rows_landed": self.repeat_rows_landed,
            "repeat_exclusions": dict(self.repeat_exclusions),
            "invalid_coordinates": self.invalid_coordinates,
            "form_versions": list(self.form_versions),
            "field_issues": dict(self.field_issues),
            "unmapped_columns": len(self.unmapped_columns),
            "personal_columns_dropped": self.personal_columns_dropped,
            **({"api_pages": self.api_pages, "api_retries": self.api_retries, "api_restarts": self.api_restarts}
               if self.api_pages is not None else {}),
        }
