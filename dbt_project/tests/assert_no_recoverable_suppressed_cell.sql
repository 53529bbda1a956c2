-- No suppressed citizen-generated cell can be recovered by subtraction along any one dimension:
-- every set {total, children} along a dimension that holds a suppressed cell, a total and a
-- published child holds at least two suppressed cells. One row per offending set ('*' marks the
-- dimension the set runs along). A partner's own breakdowns count as dimensions, one per name
-- (read from the landed map, not from the published text), their total being the cell without
-- that breakdown or with the value _T. Attached to the fact table (it also reads the landed
-- breakdowns) so Dagster shows it as that asset's check.
-- depends_on: {{ ref('stg_partners__observations') }}
{{ config(meta={'dagster': {'ref': {'name': 'fct_indicator_observations'}}}) }}
{% set canonical_dims = ['sex', 'age_group', 'disability_status', 'location', 'income_quantile', 'migratory_status', 'population_group'] %}
{% set set_key = ['source_type', 'source_id', 'series_code', 'geo_area_m49', 'period_label', 'unit', 'reporting_type'] %}
{% set breakdown_keys = [] %}
{% if execute %}
    {% set found = run_query(
        "select distinct unnest(map_keys(extra_dimensions)) from " ~ ref('stg_partners__observations')
        ~ " where source_type = 'citizen_generated' order by 1") %}
    {% set breakdown_keys = found.columns[0].values() | list %}
{% endif %}
{% set breakdowns = [] %}
{% for key in breakdown_keys %}{% do breakdowns.append('breakdown_' ~ loop.index) %}{% endfor %}
{% set dims = canonical_dims + breakdowns %}

with cells as (
    select
        {% for key in breakdown_keys %}
        {% set entry = "landed.other_dimensions['" ~ (key | replace("'", "''")) ~ "']" %}
        case when coalesce({{ entry }}, '_T') = '_T' then '_T' else {{ entry }} end as {{ breakdowns[loop.index0] }},
        {% endfor %}
        published.*
    from {{ ref('fct_indicator_observations') }} as published
    left join {{ ref('int_observations_unioned') }} as landed using (observation_id)
    where published.source_type = 'citizen_generated'
)

{% for dim in dims %}
{% set others = set_key + (dims | reject('equalto', dim) | list) %}
select
    '{{ dim }}' as dimension,
    {% for c in set_key %}{{ c }}, {% endfor %}
    {% for d in dims %}{{ d if d != dim else "'*'" }} as {{ d }}, {% endfor %}
    count(*) filter (where is_suppressed) as suppressed_cells
from cells
group by {% for c in others %}{{ c }}{{ ', ' if not loop.last }}{% endfor %}
having count(*) filter (where is_suppressed) = 1
    and count(*) filter (where {{ dim }} = '_T') >= 1
    and count(*) filter (where not is_suppressed and {{ dim }} <> '_T') >= 1
{{ 'union all' if not loop.last }}
{% endfor %}
