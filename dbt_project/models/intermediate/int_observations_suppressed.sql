-- Small-cell suppression of civil-society and citizen-generated data.
-- Primary: a cell with fewer than MIN_CELL_SIZE respondents is suppressed (see below_min_cell_size
-- in int_observations_unioned). A suppressed cell publishes nothing that would give its value away:
-- no value, sample size, confidence bounds or </> qualifier.
-- Secondary: along any one dimension, a suppressed cell could be recovered by subtraction from
-- its total and its published siblings (sample sizes are published, so percentages too). Where a
-- set {total, children} holds exactly one suppressed cell, the smallest published child is
-- suppressed as well; passes repeat (up to 10) because one suppression can expose a cell in
-- another set.
-- Each breakdown a partner keeps without a canonical column (other_dimensions, published as
-- other_disaggregation, e.g. household_type=single) is one more dimension here: its total is the
-- cell without that breakdown (or with the value _T), so a household type cannot be recovered as
-- the total minus the other types, whatever other breakdowns the cell also has.
-- tests/assert_no_recoverable_suppressed_cell.sql proves the result.
{% set set_key = suppression_set_key() %}
{% set passes = 10 %}
{% set breakdown_keys = partner_breakdown_keys(ref('int_observations_unioned'), 'other_dimensions') %}
{% set dims = canonical_dimensions() + partner_breakdown_names(breakdown_keys) %}

with observations as (
    select * from {{ ref('int_observations_unioned') }}
),

-- Only families (same source, series, area, period, unit) holding a primary suppression can need
-- secondary ones: the passes run over those cells alone.
families as (
    select distinct {% for c in set_key %}{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    from observations
    where below_min_cell_size
),

pass_0 as (
    select
        observations.*,
        {{ partner_breakdown_columns(breakdown_keys, 'observations.other_dimensions') }}
        observations.below_min_cell_size as is_suppressed
    from observations
    semi join families
        on {% for c in set_key %}families.{{ c }} is not distinct from observations.{{ c }}{{ ' and ' if not loop.last }}{% endfor %}
),

{% for n in range(1, passes + 1) %}
{% for dim in dims %}
{% set others = set_key + (dims | reject('equalto', dim) | list) %}
exposed_{{ n }}_{{ dim }} as (
    select observation_id
    from (
        select
            observation_id,
            is_suppressed,
            {{ dim }} = '_T' as is_total,
            count(*) filter (where is_suppressed) over sibling_set as suppressed_in_set,
            count(*) filter (where {{ dim }} = '_T') over sibling_set as totals_in_set,
            row_number() over (
                partition by {% for c in others %}{{ c }}{{ ', ' if not loop.last }}{% endfor %}
                order by (is_suppressed or {{ dim }} = '_T'), sample_size, {{ dim }}
            ) as pick
        from pass_{{ n - 1 }}
        where {{ not_official('source_type') }}
        window sibling_set as (partition by {% for c in others %}{{ c }}{{ ', ' if not loop.last }}{% endfor %})
    )
    where suppressed_in_set = 1 and totals_in_set >= 1 and pick = 1 and not is_suppressed and not is_total
),
{% endfor %}

pass_{{ n }} as (
    select
        * replace (
            is_suppressed or observation_id in (
                {% for dim in dims %}select observation_id from exposed_{{ n }}_{{ dim }}{{ ' union ' if not loop.last }}{% endfor %}
            ) as is_suppressed
        )
    from pass_{{ n - 1 }}
),
{% endfor %}

suppressed as (
    select observation_id, is_suppressed from pass_{{ passes }}
)

select
    observations.* exclude (value, sample_size, lower_bound, upper_bound, value_qualifier, other_dimensions),
    {% for column in ['value', 'sample_size', 'lower_bound', 'upper_bound', 'value_qualifier'] %}
    case when not coalesce(suppressed.is_suppressed, false) then observations.{{ column }} end as {{ column }},
    {% endfor %}
    coalesce(suppressed.is_suppressed, false) as is_suppressed,
    coalesce(suppressed.is_suppressed, false) and not observations.below_min_cell_size as is_secondary_suppression
from observations
left join suppressed using (observation_id)
