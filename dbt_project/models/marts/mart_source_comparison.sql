-- A figure side by side with an official one for the same series (or the same SDG indicator), area,
-- group and unit, with periods at most one year apart (the closest official period is taken).
-- Each source is compared with every official source listed before it in var source_types: civil
-- society and citizens with the UN and with the national statistics office, the national office with
-- the UN. Differences beyond the unit's threshold (seed `units`) are flagged.
{% set dims = var('dimensions') %}
{% set types = var('source_types') %}
{% set pairs = [] %}
{%- for reference in var('official_source_types') %}
{%- for compared in types[types.index(reference) + 1:] %}
{%- do pairs.append("('" ~ reference ~ "', '" ~ compared ~ "')") %}
{%- endfor %}
{%- endfor %}
with pairings as (
    select * from (values {{ pairs | join(', ') }}) as pairing (reference_source_type, compared_source_type)
),

official as (
    select * from {{ ref('fct_indicator_observations') }}
    where source_type in (select reference_source_type from pairings) and value is not null
),

non_official as (
    select observations.*, pairings.reference_source_type
    from {{ ref('fct_indicator_observations') }} as observations
    join pairings on pairings.compared_source_type = observations.source_type
    where observations.value is not null
),

pairs as (
    select
        non_official.observation_id as non_official_observation_id,
        official.observation_id as official_observation_id,
        case when official.series_code = non_official.series_code then 'series' else 'indicator' end as matched_on,
        year(non_official.period_start) - year(official.period_start) as period_gap_years,
        non_official.*,
        official.series_code as official_series_code,
        official.period_label as official_period_label,
        official.value as official_value,
        official.reporting_type as official_reporting_type
    from non_official
    join official
        on official.source_type = non_official.reference_source_type
        and official.geo_area_m49 = non_official.geo_area_m49
        and official.unit = non_official.unit
        {%- for d in dims %}
        and official.{{ d }} = non_official.{{ d }}
        {%- endfor %}
        and coalesce(official.other_disaggregation, '') = coalesce(non_official.other_disaggregation, '')
        and (official.series_code = non_official.series_code
             or (official.indicator_code = non_official.indicator_code and official.indicator_code is not null))
        and abs(year(non_official.period_start) - year(official.period_start)) <= 1
    qualify row_number() over (
        partition by non_official.observation_id, non_official.reference_source_type
        order by abs(year(non_official.period_start) - year(official.period_start)),
            (official.series_code = non_official.series_code) desc, official.reporting_type, official.period_label
    ) = 1
)

select
    pairs.non_official_observation_id,
    pairs.official_observation_id,
    pairs.reference_source_type as official_source_type,
    pairs.matched_on,
    pairs.indicator_code,
    pairs.official_series_code,
    pairs.series_code as non_official_series_code,
    pairs.geo_area_m49,
    pairs.iso3,
    pairs.geo_area_name,
    {% for d in dims %}pairs.{{ d }}, {% endfor %}pairs.other_disaggregation,
    pairs.unit,
    pairs.official_period_label,
    pairs.period_label as non_official_period_label,
    pairs.period_gap_years,
    pairs.source_type as non_official_source_type,
    pairs.source_id as non_official_source_id,
    pairs.official_value,
    pairs.value as non_official_value,
    pairs.sample_size as non_official_sample_size,
    pairs.value - pairs.official_value as difference,
    (pairs.value - pairs.official_value) / nullif(pairs.official_value, 0) as relative_difference,
    units.comparison_threshold,
    coalesce(abs(pairs.value - pairs.official_value) > units.comparison_threshold, false) as exceeds_threshold
from pairs
left join {{ ref('units') }} as units on units.code = pairs.unit
