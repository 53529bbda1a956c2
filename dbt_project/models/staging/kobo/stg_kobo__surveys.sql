-- published_statuses: the validation statuses the contract's policy (published_validation_statuses)
-- publishes, as landed by ingestion/kobo/validation.py; int_kobo_respondents_derived applies it.
select survey_id, title, organisation, geo_area_m49, reference_year, synthetic, published_validation_statuses,
    published_statuses
from {{ source('kobo', 'surveys') }}
