-- No citizen-generated cell with fewer than MIN_CELL_SIZE respondents carries a value.
select observation_id, source_id, series_code, sample_size, value
from {{ ref('fct_indicator_observations') }}
where source_type = 'citizen_generated'
    and sample_size < {{ env_var('MIN_CELL_SIZE', '5') }}::integer
    and (value is not null or not is_suppressed)
