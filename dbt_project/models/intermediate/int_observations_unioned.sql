{{ config(materialized="table") }}
-- Every observation from every source in one shape and one vocabulary, with its grain hash:
-- official (UN SDG API), civil-society (partner files) and citizen-generated (partner files and
-- KoBo surveys). A table, not a view: the fact table, the dimensions and the suppression passes
-- all read it. Records a source marked as having no value (NaN, n/a, ..) stay in the raw
-- tables, counted there, and are not observations here.
{% set grain = observation_grain() + ['unmapped_codes'] %}

with official as (
    select
        'official' as source_type,
        'unsd_sdg_api' as source_id,
        list_sort(indicator_codes)[1] as indicator_code,
        series_code,
        series_description,
        geo_area_m49,
        geo_area_name,
        make_date(period_year, 1, 1) as period_start,
        coalesce(time_detail, period_year::varchar) as period_label,
        sex,
        age_group,
        disability_status,
        location,
        income_quantile,
        migratory_status,
        '_T' as population_group,
        reporting_type,
        other_disaggregation,
        unmapped_codes,
        value,
        value_qualifier,
        unit,
        lower_bound,
        upper_bound,
        nature,
        cast(null as integer) as sample_size,
        data_source,
        cast(null as varchar) as source_file,
        source_request,
        fetched_at as ingested_at,
        batch_id
    from {{ ref('int_sdg_observations_coded') }} as coded
    left join {{ ref('units') }} as units on units.code = coded.unit
    where not value_is_missing and not value_is_unparseable
        -- An official value outside its unit's range (seed `units`: a percentage above 100, a rate per
        -- 100,000 above 100,000) is an upstream error: it stays in raw_sdg and is set aside here, listed
        -- by the warning test assert_official_values_outside_their_unit_range, so one bad figure never
        -- blocks the night.
        and not coalesce(coded.value < units.min_value or coded.value > units.max_value, false)
),

partners as (
    select * from {{ ref('int_partner_observations_coded') }}
),

surveys as (
    select
        'citizen_generated' as source_type,
        survey_id as source_id,
        indicator_code,
        series_code,
        series_description,
        geo_area_m49,
        cast(null as varchar) as geo_area_name,
        make_date(period_year, 1, 1) as period_start,
        period_year::varchar as period_label,
        sex,
        age_group,
        disability_status,
        location,
        '_T' as income_quantile,
        migratory_status,
        '_T' as population_group,
        '_T' as reporting_type,
        cast(null as varchar) as other_disaggregation,
        value,
        cast(null as varchar) as value_qualifier,
        unit,
        cast(null as double) as lower_bound,
        cast(null as double) as upper_bound,
        'CA' as nature,
        sample_size::integer as sample_size,
        case when synthetic then 'SYNTHETIC - fictional demo survey ' else 'KoBoToolbox survey ' end
            || survey_id || ' (' || organisation || ')' as data_source,
        cast(null as varchar) as source_file,
        cast(null as varchar) as source_request,
        ingested_at,
        batch_id
    from {{ ref('int_kobo_indicator_cells_aggregated') }}
),

unioned as (
    select * from official
    union all by name
    select * from partners
    union all by name
    select * from surveys
)

select
    md5(concat_ws('|', {% for column in grain %}coalesce({{ column }}::varchar, ''){{ ', ' if not loop.last }}{% endfor %})) as observation_id,
    *,
    -- Too few respondents to publish safely (re-identification) or reliably. A survey cell whose
    -- respondent count is unknown cannot be shown to be large enough: it counts as small. A
    -- civil-society figure often has no respondent count (a service's caseload, an administrative
    -- total); when it does, the same threshold applies.
    {{ is_small_cell('source_type', 'sample_size') }} as below_min_cell_size
from unioned
