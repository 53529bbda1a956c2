select survey_id, source_id, latest_submission_time, ingested_at, batch_id
from {{ source('kobo', 'loads') }}
