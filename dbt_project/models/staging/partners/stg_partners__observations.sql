-- Accepted partner observations: renaming and casting only.
select
    partner_id as source_id,
    source_type,
    indicator_code,
    series_code,
    geo_area_m49,
    period_label,
    period_start,
    {%- for dimension in var('dimensions') %}
    {{ dimension }},
    {%- endfor %}
    extra_dimensions,
    value,
    value_raw,
    value_qualifier,
    value_is_missing,
    unit,
    lower_bound,
    upper_bound,
    nature,
    sample_size,
    source_file,
    source_row,
    file_sha256,
    ingested_at,
    batch_id
from {{ source('partners', 'observations') }}
