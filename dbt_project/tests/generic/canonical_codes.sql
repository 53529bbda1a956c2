{#- Fails with each row whose canonical code columns (`columns`, by default var dimensions, plus `extra`) hold no
    canonical code: null, or 'unmapped' (what the models write for a source code no vocabulary translates). -#}
{% test canonical_codes(model, columns=none, extra=[]) %}
{%- set checked = (columns if columns is not none else var('dimensions')) + extra %}
select *
from {{ model }}
where {% for c in checked %}{{ c }} is null or {{ c }} = 'unmapped'{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
