{#- Fails with each combination of codes, in the canonical code columns (`columns`, by default var dimensions, plus
    `extra`), that holds a non-canonical one: null, or 'unmapped' (what the models write for a source code no
    vocabulary translates); `rows` counts the rows that carry it. -#}
{% test canonical_codes(model, columns=none, extra=[]) %}
{%- set checked = (columns if columns is not none else var('dimensions')) + extra %}
select {{ checked | join(', ') }}, count(*) as rows
from {{ model }}
where {% for c in checked %}{{ c }} is null or {{ c }} = 'unmapped'{{ ' or ' if not loop.last }}{% endfor %}
group by all
{% endtest %}
