-- Indicator cells from KoBo microdata, driven by each survey contract's indicator declarations:
-- one row per survey x series x period x disaggregation cell, with the respondent count behind
-- it. No respondent-level data leaves this model. Cells under MIN_CELL_SIZE respondents are
-- flagged here; the value is withheld in fct_indicator_observations.
with respondents as (
    select * from {{ ref('int_kobo_respondents_derived') }}
),

conditions as (
    select * from {{ ref('stg_kobo__indicator_conditions') }}
),

-- Each condition of each indicator for each respondent; a comparison with a missing answer is
-- null (unknown).
condition_results as (
    select
        respondents.survey_id,
        respondents.submission_key,
        conditions.series_code,
        conditions.role,
        case
            when conditions.op = 'is_null' then answer is null
            when conditions.op = 'not_null' then answer is not null
            when answer is null then null
            when conditions.op = 'eq' then answer = conditions.value
            when conditions.op = 'ne' then answer <> conditions.value
            when conditions.op = 'in' then list_contains(conditions.value_list, answer)
            when conditions.op = 'not_in' then not list_contains(conditions.value_list, answer)
            when conditions.op = 'lt' then try_cast(answer as double) < try_cast(conditions.value as double)
            when conditions.op = 'le' then try_cast(answer as double) <= try_cast(conditions.value as double)
            when conditions.op = 'gt' then try_cast(answer as double) > try_cast(conditions.value as double)
            when conditions.op = 'ge' then try_cast(answer as double) >= try_cast(conditions.value as double)
            when conditions.op = 'contains' then list_contains(string_split(answer, ' '), conditions.value)
        end as holds
    from respondents
    join conditions on conditions.survey_id = respondents.survey_id
    cross join lateral (
        select case conditions.field
            when 'disability_status' then respondents.disability_status
            when 'age_group' then respondents.age_group
            else respondents.fields[conditions.field]
        end as answer
    )
),

-- In the denominator when every denominator condition holds (none declared: everyone); counted
-- in sample_size when no numerator condition is unknown; in the numerator when all hold.
respondent_indicators as (
    select
        respondents.survey_id,
        respondents.submission_key,
        respondents.period_year,
        respondents.batch_id,
        respondents.ingested_at,
        respondents.disability_status,
        respondents.age_group,
        respondents.fields['sex'] as sex,
        respondents.fields['location'] as location,
        respondents.fields['migratory_status'] as migratory_status,
        definitions.series_code,
        definitions.unit,
        coalesce(bool_and(coalesce(results.holds, false)) filter (where results.role = 'denominator'), true)
            as in_denominator,
        coalesce(bool_and(results.holds is not null) filter (where results.role = 'numerator'), true)
            as numerator_known,
        coalesce(bool_and(coalesce(results.holds, false)) filter (where results.role = 'numerator'), true)
            as in_numerator
    from respondents
    join {{ ref('stg_kobo__indicator_definitions') }} as definitions on definitions.survey_id = respondents.survey_id
    left join condition_results as results
        on results.survey_id = respondents.survey_id
        and results.submission_key = respondents.submission_key
        and results.series_code = definitions.series_code
    group by all
),

-- Every combination of the indicator's disaggregate_by dimensions, each also as total (_T); a
-- missing value for a used dimension falls in its _U (unknown) cell.
cells as (
    select
        survey_id,
        series_code,
        unit,
        period_year,
        case when grouping(sex) = 1 then '_T' else sex end as sex,
        case when grouping(age_group) = 1 then '_T' else age_group end as age_group,
        case when grouping(disability_status) = 1 then '_T' else disability_status end as disability_status,
        case when grouping(location) = 1 then '_T' else location end as location,
        case when grouping(migratory_status) = 1 then '_T' else migratory_status end as migratory_status,
        grouping(sex) as total_sex,
        grouping(age_group) as total_age_group,
        grouping(disability_status) as total_disability_status,
        grouping(location) as total_location,
        grouping(migratory_status) as total_migratory_status,
        count(*) as sample_size,
        count(*) filter (where in_numerator) as numerator_count,
        max(batch_id) as batch_id,
        max(ingested_at) as ingested_at
    from (
        select
            * exclude (sex, age_group, disability_status, location, migratory_status),
            coalesce(sex, '_U') as sex,
            coalesce(age_group, '_U') as age_group,
            coalesce(disability_status, '_U') as disability_status,
            coalesce(location, '_U') as location,
            coalesce(migratory_status, '_U') as migratory_status
        from respondent_indicators
        where in_denominator and numerator_known
    )
    group by survey_id, series_code, unit, period_year,
        cube (sex, age_group, disability_status, location, migratory_status)
)

select
    cells.survey_id,
    surveys.organisation,
    surveys.geo_area_m49,
    surveys.synthetic,
    definitions.indicator_code,
    definitions.description as series_description,
    cells.series_code,
    cells.period_year,
    cells.sex,
    cells.age_group,
    cells.disability_status,
    cells.location,
    cells.migratory_status,
    cells.unit,
    cells.sample_size,
    cells.numerator_count,
    case
        when cells.unit = 'PT' then round(100.0 * cells.numerator_count / cells.sample_size, 1)
        else cells.numerator_count
    end as value,
    cells.sample_size < {{ min_cell_size() }} as below_min_cell_size,
    cells.batch_id,
    cells.ingested_at
from cells
join {{ ref('stg_kobo__surveys') }} as surveys using (survey_id)
join {{ ref('stg_kobo__indicator_definitions') }} as definitions using (survey_id, series_code)
where (total_sex = 1 or list_contains(definitions.disaggregate_by, 'sex'))
    and (total_age_group = 1 or list_contains(definitions.disaggregate_by, 'age_group'))
    and (total_disability_status = 1 or list_contains(definitions.disaggregate_by, 'disability_status'))
    and (total_location = 1 or list_contains(definitions.disaggregate_by, 'location'))
    and (total_migratory_status = 1 or list_contains(definitions.disaggregate_by, 'migratory_status'))
