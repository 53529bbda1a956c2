-- Partner observations in the published shape. Codes were mapped to the canonical vocabulary at
-- landing by each partner's contract; breakdowns with no canonical column are kept as
-- 'name=value' pairs. Empty or marker values (n/a, .., x) are not observations.
select
    observations.source_type,
    observations.source_id,
    observations.indicator_code,
    observations.series_code,
    cast(null as varchar) as series_description,
    observations.geo_area_m49,
    cast(null as varchar) as geo_area_name,
    observations.period_start,
    observations.period_label,
    observations.sex,
    observations.age_group,
    observations.disability_status,
    observations.location,
    observations.income_quantile,
    observations.migratory_status,
    observations.population_group,
    '_T' as reporting_type,
    nullif(array_to_string(list_sort(list_transform(
        map_entries(observations.extra_dimensions), entry -> entry.key || '=' || entry.value)), '; '), '')
        as other_disaggregation,
    -- the same breakdowns as a map, for small-cell suppression (not published)
    observations.extra_dimensions as other_dimensions,
    observations.value,
    observations.value_qualifier,
    observations.unit,
    observations.lower_bound,
    observations.upper_bound,
    observations.nature,
    observations.sample_size::integer as sample_size,
    partners.attribution as data_source,
    observations.source_file,
    cast(null as varchar) as source_request,
    observations.ingested_at,
    observations.batch_id
from {{ ref('stg_partners__observations') }} as observations
left join {{ ref('stg_partners__partners') }} as partners using (source_id)
where not observations.value_is_missing
