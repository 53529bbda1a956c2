{{ config(schema='restricted') }}
-- One row per respondent (current version of each submission), with derived disability status
-- and age group. Respondent-level: restricted schema, never published.
with landed as (
    select submissions.*, loads.latest_submission_time as load_latest, loads.ingested_at as load_ingested_at
    from {{ ref('stg_kobo__submissions') }} as submissions
    join {{ ref('stg_kobo__loads') }} as loads using (survey_id, source_id)
),

-- A survey can land from several exports (cumulative snapshots) and the API: drop versions a
-- later edit deprecated, then keep the copy from the load with the newest data.
current_versions as (
    select * from landed as a
    where not exists (
        select 1 from landed as b
        where b.survey_id = a.survey_id and b.deprecated_key = a.instance_key
    )
    qualify row_number() over (
        partition by survey_id, submission_key
        order by load_latest desc nulls last, load_ingested_at desc, source_id
    ) = 1
)

select
    current_versions.survey_id,
    current_versions.submission_key,
    current_versions.fields,
    current_versions.batch_id,
    current_versions.ingested_at,
    coalesce(surveys.reference_year, year(current_versions.submission_time)) as period_year,
    -- Washington Group Short Set disability identifier (cut-off "a lot of difficulty"): PD if any
    -- domain is at the cut-off, PWD if all six are below it, otherwise undetermined (null).
    case
        when list_has_any(wg, ['A_LOT_OF_DIFFICULTY', 'CANNOT_DO']) then 'PD'
        when len(list_filter(wg, x -> x in ('NO_DIFFICULTY', 'SOME_DIFFICULTY'))) = 6 then 'PWD'
    end as disability_status,
    age_bands.age_group
from (
    select *, [fields['wg_seeing'], fields['wg_hearing'], fields['wg_walking'], fields['wg_cognition'],
               fields['wg_selfcare'], fields['wg_communication']] as wg
    from current_versions
) as current_versions
-- The contract's validation status policy (published_validation_statuses), landed as the list of statuses
-- it publishes: the current version's status decides, so a later edit or review is what counts.
join {{ ref('stg_kobo__surveys') }} as surveys
    on surveys.survey_id = current_versions.survey_id
    and list_contains(surveys.published_statuses, current_versions.validation_status)
left join {{ ref('stg_kobo__age_bands') }} as age_bands
    on age_bands.survey_id = current_versions.survey_id
    and try_cast(current_versions.fields['age'] as integer)
        between age_bands.min_age and coalesce(age_bands.max_age, 2147483647)
