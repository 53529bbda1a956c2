-- Every published value lies within its unit's range (seed `units`): percent 0-100, counts and
-- rates non-negative.
select observations.observation_id, observations.unit, observations.value, units.min_value, units.max_value
from {{ ref('fct_indicator_observations') }} as observations
join {{ ref('units') }} as units on units.code = observations.unit
where observations.value < units.min_value or observations.value > units.max_value
