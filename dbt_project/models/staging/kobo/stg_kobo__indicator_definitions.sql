select * from {{ source('kobo', 'indicator_definitions') }}
