-- Each group's value against its reference group, within one source x series x area x period x
-- unit: against the total (every dimension `_T`), and, for each dimension where the group's code
-- has a reference in the vocabulary (women vs men, persons with vs without disability, rural vs
-- urban, poorest vs richest quintile, displaced vs non-displaced), against the group that differs
-- only in that dimension. So women with disabilities are compared with everyone, with women
-- without disabilities, and with men with disabilities.
{% set dims = var('dimensions') %}
{% set context = var('suppression_family') + ['other_disaggregation'] %}

with observations as (
    select
        *,
        {% for d in dims %}(case when {{ d }} <> '_T' then 1 else 0 end){{ ' + ' if not loop.last }}{% endfor %}
            as intersection_depth,
        list_filter([{% for d in dims %}case when {{ d }} <> '_T' then '{{ d }}' end{{ ', ' if not loop.last }}{% endfor %}],
                    x -> x is not null) as dimensions_crossed
    from {{ ref('fct_indicator_observations') }}
    where value is not null
),

reference_codes as (
    select dimension, code, reference_code
    from {{ ref('vocabulary') }}
    where reference_code is not null
),

against_total as (
    select
        grp.*,
        'total' as comparison,
        cast(null as varchar) as compared_dimension,
        cast(null as varchar) as reference_code,
        ref.observation_id as reference_observation_id,
        ref.value as reference_value,
        ref.sample_size as reference_sample_size
    from observations as grp
    join observations as ref
        on {% for c in context %}ref.{{ c }} is not distinct from grp.{{ c }} and {% endfor %}ref.intersection_depth = 0
    where grp.intersection_depth > 0
),

{% for d in dims %}
against_{{ d }} as (
    select
        grp.*,
        'reference_group' as comparison,
        '{{ d }}' as compared_dimension,
        reference_codes.reference_code,
        ref.observation_id as reference_observation_id,
        ref.value as reference_value,
        ref.sample_size as reference_sample_size
    from observations as grp
    join reference_codes on reference_codes.dimension = '{{ d }}' and reference_codes.code = grp.{{ d }}
    join observations as ref
        on {% for c in context %}ref.{{ c }} is not distinct from grp.{{ c }} and {% endfor %}
        {% for other in dims if other != d %}ref.{{ other }} = grp.{{ other }} and {% endfor %}
        ref.{{ d }} = reference_codes.reference_code
),
{% endfor %}

comparisons as (
    select * from against_total
    {% for d in dims %}
    union all by name
    select * from against_{{ d }}
    {% endfor %}
)

select
    observation_id,
    comparison,
    compared_dimension,
    source_type,
    source_id,
    indicator_code,
    series_code,
    geo_area_m49,
    iso3,
    geo_area_name,
    period_label,
    unit,
    reporting_type,
    other_disaggregation,
    {% for d in dims %}{{ d }},
    {% endfor %}intersection_depth,
    array_to_string(dimensions_crossed, ' x ') as dimensions_crossed,
    reference_code,
    reference_observation_id,
    value as group_value,
    reference_value,
    value - reference_value as difference,
    value / nullif(reference_value, 0) as ratio,
    sample_size as group_sample_size,
    reference_sample_size
from comparisons
