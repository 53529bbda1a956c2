-- One row per source x series x geo area x period x disaggregation, in canonical codes.
-- Records the API marked as having no value (NaN, N, NV) or whose value could not be read stay
-- in raw_sdg (counted in series_loads) and are not observations here.
{% set grain = [
    'source_type', 'source_id', 'series_code', 'geo_area_m49', 'period_label',
    'sex', 'age_group', 'disability_status', 'location', 'income_quantile',
    'migratory_status', 'population_group', 'reporting_type', 'other_disaggregation',
] %}

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
        value,
        value_qualifier,
        unit,
        lower_bound,
        upper_bound,
        nature,
        cast(null as integer) as sample_size,
        false as is_suppressed,
        data_source,
        cast(null as varchar) as source_file,
        source_request,
        fetched_at as ingested_at,
        batch_id
    from {{ ref('int_sdg_observations_coded') }}
    where not value_is_missing and not value_is_unparseable
)

select
    md5(concat_ws('|', {% for column in grain %}coalesce({{ column }}::varchar, ''){{ ', ' if not loop.last }}{% endfor %})) as observation_id,
    official.* exclude (geo_area_name),
    countries.iso3,
    coalesce(countries.country_name, official.geo_area_name) as geo_area_name
from official
left join {{ ref('iso3166_countries') }} as countries
    on countries.m49_code = official.geo_area_m49
