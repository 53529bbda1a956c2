-- Every published value lies within its unit's range (seed `units`): percent 0-100, counts and
-- rates non-negative. Attached to the fact table (it also reads the seed) so Dagster shows it as that
-- asset's check.
{{ config(meta={'dagster': {'ref': {'name': 'fct_indicator_observations'}}}) }}
select observations.observation_id, observations.unit, observations.value, units.min_value, units.max_value
from {{ ref('fct_indicator_observations') }} as observations
join {{ ref('units') }} as units on units.code = observations.unit
where observations.value < units.min_value or observations.value > units.max_value
