-- Official values outside their unit's range (seed `units`), which int_observations_unioned sets aside:
-- an upstream error reported every night (series, area, year, value), never published, never blocking.
-- A check on int_sdg_observations_coded, the table it reads, in Dagster.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_sdg_observations_coded'}}}) }}
select coded.series_code, coded.geo_area_m49, coded.period_year, coded.unit, coded.value,
       units.min_value, units.max_value, coded.observation_record_id
from {{ ref('int_sdg_observations_coded') }} as coded
join {{ ref('units') }} as units on units.code = coded.unit
where coded.value < units.min_value or coded.value > units.max_value
