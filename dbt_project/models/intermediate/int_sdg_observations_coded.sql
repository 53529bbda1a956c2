-- SDG observations with every dimension and attribute translated to canonical (SDMX) codes.
-- The translation uses the code lists the API sends with each series; a code missing from
-- them becomes 'unmapped' (never dropped), and a dimension with no canonical column is kept
-- in other_disaggregation.
--
-- Incremental, one series at a time: most nights most series come back unchanged (same batch_id,
-- a hash of the API's responses), and coding the official rows is the bulk of this project's build.
-- A series is recoded when its batch changed or when the coding itself changed (the vocabulary seeds
-- or this model's SQL: `coding_fingerprint`); a series no longer landed is deleted. So the result is
-- always what a full refresh would build (tests/test_dbt.py checks that).
{{ config(
    materialized="incremental",
    incremental_strategy="delete+insert",
    unique_key="series_code",
    on_schema_change="sync_all_columns",
    post_hook="delete from {{ this }} where series_code not in "
              "(select series_code from {{ ref('stg_sdg__series_loads') }})",
) }}

with coding as (
    select md5(concat_ws('#',
        '{{ model.checksum.checksum if model.checksum is mapping else model.checksum }}',
        (select string_agg(t::varchar, ';' order by t::varchar) from {{ ref('vocabulary') }} as t),
        (select string_agg(t::varchar, ';' order by t::varchar) from {{ ref('age_groups') }} as t),
        -- the crosswalk rows this model reads (the national platforms' labels are read at their landing)
        (select string_agg(t::varchar, ';' order by t::varchar) from {{ ref('label_crosswalk') }} as t where t.vocabulary = 'sdg_api'),
        (select string_agg(t::varchar, ';' order by t::varchar) from {{ ref('sdg_dimension_concepts') }} as t)
    )) as coding_fingerprint
),

{% if is_incremental() %}
-- Series whose landed batch or coding differs from what this table holds.
series_to_code as (
    select loads.series_code
    from {{ ref('stg_sdg__series_loads') }} as loads
    where not exists (
        select 1 from {{ this }} as built
        where built.series_code = loads.series_code
            and built.batch_id = loads.batch_id
            and built.coding_fingerprint = (select coding_fingerprint from coding)
    )
),
{% endif %}

observations as (
    select * from {{ ref('stg_sdg__observations') }}
    {% if is_incremental() %}
    where series_code in (select series_code from series_to_code)
    {% endif %}
),

code_lists as (
    select * from {{ ref('stg_sdg__code_lists') }}
),

dimension_values as (
    select
        observation_record_id,
        series_code,
        entry.key as concept,
        entry.value as api_code
    from (
        select observation_record_id, series_code, unnest(map_entries(dimensions)) as entry
        from observations
    )
),

-- Every canonical code the vocabulary knows (age groups have their own seed, with bounds).
known_codes as (
    select dimension, code from {{ ref('vocabulary') }}
    union all
    select 'age_group', code from {{ ref('age_groups') }}
),

translated as (
    select
        dimension_values.observation_record_id,
        dimension_values.concept,
        dimension_values.api_code,
        concepts.canonical_dimension,
        -- The series' own code list first, the project's crosswalk as fallback.
        coalesce(code_lists.sdmx_code, crosswalk.code) as sdmx_code
    from dimension_values
    left join {{ ref('sdg_dimension_concepts') }} as concepts
        on concepts.api_concept = dimension_values.concept
    left join code_lists
        on code_lists.series_code = dimension_values.series_code
        and code_lists.kind = 'dimension'
        and code_lists.concept = dimension_values.concept
        and code_lists.api_code = dimension_values.api_code
    left join {{ ref('label_crosswalk') }} as crosswalk
        on crosswalk.vocabulary = 'sdg_api'
        and crosswalk.dimension = concepts.canonical_dimension
        and crosswalk.label = dimension_values.api_code
),

coded_dimensions as (
    select
        translated.*,
        -- A canonical column only takes codes of the vocabulary; anything else is 'unmapped'
        -- (kept, reported by tests and checks, never dropped).
        case
            when translated.canonical_dimension is null then coalesce(translated.sdmx_code, translated.api_code)
            when known_codes.code is not null then known_codes.code
            else 'unmapped'
        end as canonical_code
    from translated
    left join known_codes
        on known_codes.dimension = translated.canonical_dimension
        and known_codes.code = translated.sdmx_code
),

pivoted as (
    select
        observation_record_id,
        max(canonical_code) filter (where canonical_dimension = 'sex') as sex,
        max(canonical_code) filter (where canonical_dimension = 'age_group') as age_group,
        max(canonical_code) filter (where canonical_dimension = 'disability_status') as disability_status,
        max(canonical_code) filter (where canonical_dimension = 'location') as location,
        max(canonical_code) filter (where canonical_dimension = 'income_quantile') as income_quantile,
        max(canonical_code) filter (where canonical_dimension = 'migratory_status') as migratory_status,
        max(canonical_code) filter (where canonical_dimension = 'reporting_type') as reporting_type,
        string_agg(concept || '=' || canonical_code, '; ' order by concept)
            filter (where canonical_dimension is null and canonical_code <> '_T') as other_disaggregation,
        string_agg(canonical_dimension || '=' || api_code, '; ' order by canonical_dimension)
            filter (where canonical_code = 'unmapped') as unmapped_codes
    from coded_dimensions
    group by observation_record_id
),

attribute_codes as (
    select series_code, concept, api_code, sdmx_code
    from code_lists
    where kind = 'attribute'
)

select
    observations.observation_record_id,
    observations.series_code,
    observations.series_description,
    observations.indicator_codes,
    observations.geo_area_m49,
    observations.geo_area_name,
    observations.period_year,
    observations.time_detail,
    -- A dimension a series does not break down by is its total.
    coalesce(pivoted.sex, '_T') as sex,
    coalesce(pivoted.age_group, '_T') as age_group,
    coalesce(pivoted.disability_status, '_T') as disability_status,
    coalesce(pivoted.location, '_T') as location,
    coalesce(pivoted.income_quantile, '_T') as income_quantile,
    coalesce(pivoted.migratory_status, '_T') as migratory_status,
    coalesce(pivoted.reporting_type, '_T') as reporting_type,
    pivoted.other_disaggregation,
    pivoted.unmapped_codes,
    observations.value,
    observations.value_qualifier,
    observations.value_is_missing,
    observations.value_is_unparseable,
    case
        when observations.unit_api_code is null then null
        else coalesce(units.sdmx_code, unit_crosswalk.code, 'unmapped')
    end as unit,
    case
        when observations.nature_api_code is null then null
        else coalesce(natures.sdmx_code, 'unmapped')
    end as nature,
    observations.lower_bound,
    observations.upper_bound,
    observations.data_source,
    observations.source_request,
    observations.fetched_at,
    loads.batch_id,
    (select coding_fingerprint from coding) as coding_fingerprint
from observations
left join pivoted using (observation_record_id)
left join attribute_codes as units
    on units.series_code = observations.series_code
    and units.concept = 'Units'
    and units.api_code = observations.unit_api_code
left join attribute_codes as natures
    on natures.series_code = observations.series_code
    and natures.concept = 'Nature'
    and natures.api_code = observations.nature_api_code
-- The series' own code list first, the project's crosswalk as fallback (as for dimensions).
left join {{ ref('label_crosswalk') }} as unit_crosswalk
    on unit_crosswalk.vocabulary = 'sdg_api'
    and unit_crosswalk.dimension = 'unit'
    and unit_crosswalk.label = observations.unit_api_code
left join {{ ref('stg_sdg__series_loads') }} as loads
    on loads.series_code = observations.series_code
