-- One row per series x SDG indicator it serves: official series from the SDG hierarchy (latest
-- release), plus every series civil society or citizens report, whether or not it is official.
with hierarchy as (
    select *
    from {{ ref('stg_sdg__series_hierarchy') }}
    where series_code is not null
    qualify row_number() over (partition by series_code, indicator_code order by release desc) = 1
),

observed as (
    select
        series_code,
        any_value(indicator_code) filter (where indicator_code is not null) as indicator_code,
        any_value(series_description) filter (where series_description is not null) as series_description,
        any_value(unit) as unit,
        list_sort(list(distinct source_type)) as source_types,
        count(*) as observations
    from {{ ref('int_observations_unioned') }}
    group by series_code
)

select
    coalesce(hierarchy.series_code, observed.series_code) as series_code,
    coalesce(hierarchy.indicator_code, observed.indicator_code) as indicator_code,
    coalesce(hierarchy.goal_code, split_part(observed.indicator_code, '.', 1)) as goal_code,
    coalesce(hierarchy.target_code,
             nullif(split_part(observed.indicator_code, '.', 1) || '.' || split_part(observed.indicator_code, '.', 2), '.'))
        as target_code,
    coalesce(hierarchy.series_description, observed.series_description) as series_description,
    hierarchy.indicator_description,
    hierarchy.tier,
    hierarchy.release as latest_release,
    observed.unit,
    coalesce(observed.source_types, []) as source_types,
    coalesce(observed.observations, 0) as observations,
    hierarchy.series_code is not null as is_official_series
from hierarchy
full outer join observed
    on observed.series_code = hierarchy.series_code
    and (observed.indicator_code = hierarchy.indicator_code or observed.indicator_code is null)
