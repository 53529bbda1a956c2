"""Which KoBo validation statuses a survey publishes: the contract's ``published_validation_statuses``.

KoBoToolbox lets a supervisor mark each submission ``Approved``, ``On Hold`` or ``Not Approved``; most
submissions carry no status at all. The survey contract chooses a policy, defined here and nowhere else:

- ``all_but_not_approved`` (the default): every submission is published except those ``Not Approved``;
- ``approved_only``: only submissions a supervisor approved are published.

Landing keeps every status (``raw_kobo_restricted.submissions.validation_status``: ``approved``,
``on_hold``, ``not_approved`` or null) and lands the policy beside the survey, in ``raw_kobo.surveys``:
its name and the statuses it publishes (``none`` standing for a submission without a status). The dbt
model ``int_kobo_respondents_derived`` keeps the current version of each submission only when its
status is in that list; :func:`status_counts` reads the same landed list to say, per status, how many
submissions a load brought and how many of them the policy publishes or sets aside.
"""

from __future__ import annotations

import duckdb

DEFAULT_POLICY = "all_but_not_approved"
NO_STATUS = "none"  # a submission nobody validated (KoBo's empty status, `{}` in the API)
STATUSES = ("approved", "on_hold", "not_approved", NO_STATUS)  # KoBo's three, and none
POLICIES: dict[str, tuple[str, ...]] = {  # policy -> the statuses it publishes
    "all_but_not_approved": ("approved", "on_hold", NO_STATUS),
    "approved_only": ("approved",),
}


def published_statuses(policy: str) -> list[str]:
    """The statuses ``policy`` publishes, as landed in ``raw_kobo.surveys.published_statuses``."""
    try:
        return list(POLICIES[policy])
    except KeyError:
        raise ValueError(f"unknown validation status policy {policy!r}; known: {', '.join(POLICIES)}") from None


def status_counts(con: duckdb.DuckDBPyConnection, survey_id: str, source_id: str) -> dict[str, dict[str, int]]:
    """Per validation status (the four of ``STATUSES`` always, then any other a source sent), the landed
    submissions of one unit and how many the survey's landed policy publishes or sets aside."""
    rows = con.execute(
        f"""select coalesce(s.validation_status, '{NO_STATUS}') as status, count(*) as landed,
            count(*) filter (where list_contains(v.published_statuses, coalesce(s.validation_status, '{NO_STATUS}')))
        from raw_kobo_restricted.submissions s
        left join raw_kobo.surveys v using (survey_id)
        where s.survey_id = ? and s.source_id = ?
        group by all order by all""",
        [survey_id, source_id],
    ).fetchall()
    counts = {status: {"landed": 0, "published": 0, "set_aside": 0} for status in STATUSES}
    for status, landed, published in rows:
        counts[status] = {"landed": landed, "published": published, "set_aside": landed - published}
    return counts


def set_aside_by_status(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    """Status -> submissions the policy set aside, for the statuses that had any."""
    return {status: item["set_aside"] for status, item in counts.items() if item["set_aside"]}
