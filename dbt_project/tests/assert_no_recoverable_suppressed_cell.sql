-- No suppressed citizen-generated cell can be recovered by subtraction along any one dimension:
-- every set {total, children} along a dimension that holds a suppressed cell, a total and a
-- published child holds at least two suppressed cells. One row per offending set ('*' marks the
-- dimension the set runs along). other_breakdown is other_disaggregation with its total ('_T') for
-- the cell without one, as in int_observations_suppressed.
{% set dims = ['sex', 'age_group', 'disability_status', 'location', 'income_quantile', 'migratory_status', 'population_group', 'other_breakdown'] %}
{% set set_key = ['source_type', 'source_id', 'series_code', 'geo_area_m49', 'period_label', 'unit', 'reporting_type'] %}
{% for dim in dims %}
{% set others = set_key + (dims | reject('equalto', dim) | list) %}
select
    '{{ dim }}' as dimension,
    {% for c in set_key %}{{ c }}, {% endfor %}
    {% for d in dims %}{{ d if d != dim else "'*'" }} as {{ d }}, {% endfor %}
    count(*) filter (where is_suppressed) as suppressed_cells
from (
    select *, coalesce(other_disaggregation, '_T') as other_breakdown
    from {{ ref('fct_indicator_observations') }}
)
where source_type = 'citizen_generated'
group by {% for c in others %}{{ c }}{{ ', ' if not loop.last }}{% endfor %}
having count(*) filter (where is_suppressed) = 1
    and count(*) filter (where {{ dim }} = '_T') >= 1
    and count(*) filter (where not is_suppressed and {{ dim }} <> '_T') >= 1
{{ 'union all' if not loop.last }}
{% endfor %}
