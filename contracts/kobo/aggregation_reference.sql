-- Reference for the dbt models that turn landed KoBo microdata into indicator cells.
--
-- Not run by the pipeline: it is the executable specification of what dbt must compute from the
-- tables ingestion/kobo lands (tests/test_kobo_aggregation_reference.py runs it on the bundled
-- sample and checks it against an independent computation). Split it into staging /
-- intermediate / mart models as you see fit; the rules are the ones below.
--
-- Inputs: raw_kobo_restricted.submissions, raw_kobo.loads, raw_kobo.surveys, raw_kobo.age_bands,
--         raw_kobo.indicator_definitions, raw_kobo.indicator_conditions.
-- Output: one row per survey x series x period x disaggregation cell, with sample_size.
with params as (
    select 5 as min_cell_size                  -- MIN_CELL_SIZE (dbt: env_var / var)
),

-- 1. One row per submission across source units. A survey can land from several exports (each a
--    cumulative snapshot) and from the API: drop versions that a later edit deprecated, then keep
--    the copy from the load with the newest data.
landed as (
    select s.*, l.latest_submission_time as load_latest, l.ingested_at as load_ingested_at
    from raw_kobo_restricted.submissions s
    join raw_kobo.loads l using (survey_id, source_id)
),
current_versions as (
    select * from landed a
    where not exists (
        select 1 from landed b
        where b.survey_id = a.survey_id and b.deprecated_key = a.instance_key)
    qualify row_number() over (
        partition by survey_id, submission_key
        order by load_latest desc nulls last, load_ingested_at desc, source_id) = 1
),

-- 2. Derived fields.
--    disability_status (Washington Group Short Set disability identifier, cut-off "a lot of
--    difficulty"): PD if any of the six domains is A_LOT_OF_DIFFICULTY or CANNOT_DO; PWD if all six
--    are NO_DIFFICULTY or SOME_DIFFICULTY; otherwise (a domain missing, DONT_KNOW or REFUSED, and no
--    domain at the cut-off) NULL = undetermined.
--    age_group: the survey's band with min_age <= age <= max_age (max_age NULL = open-ended); NULL
--    when age is missing or outside every band.
respondents as (
    select
        c.survey_id,
        c.submission_key,
        c.fields,
        coalesce(v.reference_year, year(c.submission_time)) as period,
        case
            when list_has_any(wg, ['A_LOT_OF_DIFFICULTY', 'CANNOT_DO']) then 'PD'
            when len(list_filter(wg, x -> x in ('NO_DIFFICULTY', 'SOME_DIFFICULTY'))) = 6 then 'PWD'
        end as disability_status,
        b.age_group
    from (
        select *, [fields['wg_seeing'], fields['wg_hearing'], fields['wg_walking'], fields['wg_cognition'],
                   fields['wg_selfcare'], fields['wg_communication']] as wg
        from current_versions
    ) c
    join raw_kobo.surveys v using (survey_id)
    left join raw_kobo.age_bands b
        on b.survey_id = c.survey_id
       and try_cast(c.fields['age'] as integer) between b.min_age and coalesce(b.max_age, 2147483647)
),

-- 3. Each condition of each indicator, for each respondent. The field is a canonical field
--    (fields[field]) or a derived one. A comparison with a missing answer is NULL (unknown).
condition_results as (
    select
        r.survey_id, r.submission_key, k.series_code, k.role,
        case
            when k.op = 'is_null' then v is null
            when k.op = 'not_null' then v is not null
            when v is null then null
            when k.op = 'eq' then v = k.value
            when k.op = 'ne' then v <> k.value
            when k.op = 'in' then list_contains(k.value_list, v)
            when k.op = 'not_in' then not list_contains(k.value_list, v)
            when k.op = 'lt' then try_cast(v as double) < try_cast(k.value as double)
            when k.op = 'le' then try_cast(v as double) <= try_cast(k.value as double)
            when k.op = 'gt' then try_cast(v as double) > try_cast(k.value as double)
            when k.op = 'ge' then try_cast(v as double) >= try_cast(k.value as double)
            when k.op = 'contains' then list_contains(string_split(v, ' '), k.value)  -- select_multiple
        end as holds
    from respondents r
    join raw_kobo.indicator_conditions k on k.survey_id = r.survey_id
    cross join lateral (select case k.field
        when 'disability_status' then r.disability_status
        when 'age_group' then r.age_group
        else r.fields[k.field] end as v)
),

-- 4. Per respondent and indicator: in the denominator when every denominator condition is TRUE
--    (none declared: everyone); counted in sample_size when also no numerator condition is
--    unknown (item non-response leaves the denominator); in the numerator when all are TRUE.
respondent_indicators as (
    select
        r.*, d.series_code, d.unit, d.disaggregate_by,
        coalesce(bool_and(coalesce(c.holds, false)) filter (where c.role = 'denominator'), true) as in_denominator,
        coalesce(bool_and(c.holds is not null) filter (where c.role = 'numerator'), true) as numerator_known,
        coalesce(bool_and(coalesce(c.holds, false)) filter (where c.role = 'numerator'), true) as in_numerator
    from respondents r
    join raw_kobo.indicator_definitions d on d.survey_id = r.survey_id
    left join condition_results c
        on c.survey_id = r.survey_id and c.submission_key = r.submission_key and c.series_code = d.series_code
    group by all
),

-- 5. Cells: every combination of the indicator's disaggregate_by dimensions, each also as total
--    (_T). A respondent whose value for a used dimension is missing falls in the _U cell of that
--    dimension (and in its totals). Dimensions an indicator does not list are always _T.
sample as (
    select
        survey_id, series_code, unit, disaggregate_by, period, in_numerator,
        coalesce(fields['sex'], '_U') as sex,
        coalesce(age_group, '_U') as age_group,
        coalesce(disability_status, '_U') as disability_status,
        coalesce(fields['location'], '_U') as location,
        coalesce(fields['migratory_status'], '_U') as migratory_status
    from respondent_indicators
    where in_denominator and numerator_known
),
cells as (
    select
        survey_id, series_code, unit, period,
        any_value(disaggregate_by) as disaggregate_by,
        case when grouping(sex) = 1 then '_T' else sex end as sex,
        case when grouping(age_group) = 1 then '_T' else age_group end as age_group,
        case when grouping(disability_status) = 1 then '_T' else disability_status end as disability_status,
        case when grouping(location) = 1 then '_T' else location end as location,
        case when grouping(migratory_status) = 1 then '_T' else migratory_status end as migratory_status,
        count(*) as sample_size,
        count(*) filter (where in_numerator) as numerator_count,
        grouping(sex) as g_sex, grouping(age_group) as g_age_group, grouping(disability_status) as g_disability,
        grouping(location) as g_location, grouping(migratory_status) as g_migratory
    from sample
    group by grouping sets (
        cube(sex, age_group, disability_status, location, migratory_status)
    ), survey_id, series_code, unit, period
)
select
    c.survey_id,
    v.geo_area_m49,
    d.indicator_code,
    c.series_code,
    c.period,
    c.sex, c.age_group, c.disability_status, c.location, c.migratory_status,
    c.unit,
    c.sample_size,
    c.sample_size < p.min_cell_size as is_suppressed,
    case
        when c.sample_size < p.min_cell_size then null
        when c.unit = 'PT' then round(100.0 * c.numerator_count / c.sample_size, 1)
        else c.numerator_count
    end as value
from cells c
cross join params p
join raw_kobo.surveys v using (survey_id)
join raw_kobo.indicator_definitions d using (survey_id, series_code)
where (g_sex = 1 or list_contains(c.disaggregate_by, 'sex'))
  and (g_age_group = 1 or list_contains(c.disaggregate_by, 'age_group'))
  and (g_disability = 1 or list_contains(c.disaggregate_by, 'disability_status'))
  and (g_location = 1 or list_contains(c.disaggregate_by, 'location'))
  and (g_migratory = 1 or list_contains(c.disaggregate_by, 'migratory_status'))
order by all
