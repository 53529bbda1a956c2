{{ config(schema='restricted') }}
-- Respondent-level: kept in the restricted schema, never published.
select
    survey_id,
    source_id,
    submission_key,
    instance_key,
    deprecated_key,
    submission_time,
    -- approved | on_hold | not_approved, or 'none' (no status: the word raw_kobo.surveys.published_statuses uses)
    coalesce(validation_status, 'none') as validation_status,
    fields,
    ingested_at,
    batch_id
from {{ source('kobo_restricted', 'submissions') }}
