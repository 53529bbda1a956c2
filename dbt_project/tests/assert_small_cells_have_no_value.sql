-- No cell with too few respondents publishes anything that gives its value away, and none escapes
-- suppression: a suppressed cell has no value, sample size, bounds or qualifier; a published
-- civil-society or citizen-generated cell has at least MIN_CELL_SIZE respondents (a citizen-generated
-- one must say how many).
select observation_id, source_id, series_code, sample_size, value, is_suppressed
from {{ ref('fct_indicator_observations') }}
where source_type in ({% for type in var('small_cell_sources') %}'{{ type }}'{{ ', ' if not loop.last }}{% endfor %})
    and (
        (is_suppressed and (value is not null or sample_size is not null or lower_bound is not null
                            or upper_bound is not null or value_qualifier is not null))
        or (not is_suppressed and {{ is_small_cell('source_type', 'sample_size') }})
    )
