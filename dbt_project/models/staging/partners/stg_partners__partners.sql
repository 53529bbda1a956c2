select
    partner_id as source_id,
    partner_name,
    source_type,
    licence,
    attribution
from {{ source('partners', 'partners') }}
