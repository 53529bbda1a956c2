-- One row per SDG API observation record: renaming and casting only. A record the API sent again later
-- in the same response for the same cell (series, area, period, breakdown) was marked superseded_by at
-- landing (ingestion/sdg_api/land.py); it stays in raw_sdg for lineage and is not an observation here.
select
    record_id as observation_record_id,
    series_code,
    series_description,
    indicator_codes,
    geo_area_m49,
    geo_area_name,
    time_period as period_year,
    time_detail,
    value,
    value_raw,
    value_qualifier,
    value_is_missing,
    value_is_unparseable,
    lower_bound,
    upper_bound,
    source as data_source,
    attributes['Units'] as unit_api_code,
    attributes['Nature'] as nature_api_code,
    dimensions,
    request_url as source_request,
    fetched_at
from {{ source('sdg', 'series_observations') }}
where superseded_by is null
