-- No suppressed cell (civil-society or citizen-generated) can be recovered by subtraction along any one dimension:
-- every set {total, children} along a dimension that holds a suppressed cell, a total and a
-- published child holds at least two suppressed cells. One row per offending set ('*' marks the
-- dimension the set runs along). A partner's own breakdowns count as dimensions, one per name
-- (read from the landed map, not from the published text), their total being the cell without
-- that breakdown or with the value _T. Attached to the fact table (it also reads the landed
-- breakdowns) so Dagster shows it as that asset's check.
-- depends_on: {{ ref('stg_partners__observations') }}
{{ config(meta={'dagster': {'ref': {'name': 'fct_indicator_observations'}}}) }}
{% set set_key = suppression_set_key() %}
{% set breakdown_keys = partner_breakdown_keys(ref('stg_partners__observations'), 'extra_dimensions') %}
{% set dims = canonical_dimensions() + partner_breakdown_names(breakdown_keys) %}

with cells as (
    select
        {{ partner_breakdown_columns(breakdown_keys, 'landed.other_dimensions') }}
        published.*
    from {{ ref('fct_indicator_observations') }} as published
    left join {{ ref('int_observations_unioned') }} as landed using (observation_id)
    where {{ not_official('published.source_type') }}
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
