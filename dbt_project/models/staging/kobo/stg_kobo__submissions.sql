{{ config(schema='restricted') }}
-- Respondent-level: kept in the restricted schema, never published.
select
    survey_id,
    source_id,
    submission_key,
    instance_key,
    deprecated_key,
    submission_time,
    fields,
    ingested_at,
    batch_id
from {{ source('kobo_restricted', 'submissions') }}
