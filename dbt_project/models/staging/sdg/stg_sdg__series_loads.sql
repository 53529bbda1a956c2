select
    series_code,
    batch_id,
    rows_landed,
    total_elements,
    first_fetched_at,
    last_fetched_at
from {{ source('sdg', 'series_loads') }}
