{#- What int_observations_suppressed and its proof (tests/assert_no_recoverable_suppressed_cell.sql)
    share: the dimensions a suppressed cell could be recovered along, and the cells they partition. -#}

{#- The canonical model lives in dbt_project.yml's vars (Python reads the same file: ingestion/canonical.py). -#}
{% macro suppression_set_key() %}
    {{ return(var('suppression_family')) }}
{% endmacro %}

{% macro canonical_dimensions() %}
    {{ return(var('dimensions')) }}
{% endmacro %}

{#- source_type, source_id, ..., the dimensions, ..., other_disaggregation: what identifies one observation. -#}
{% macro observation_grain() %}
    {{ return(var('observation_identity') + var('dimensions') + var('observation_qualifiers')) }}
{% endmacro %}

{#- The names of the partner breakdowns without a canonical column (keys of the map column
    `map_column`) found in civil-society and citizen-generated rows of `relation`; none at parse time or before it exists. -#}
{% macro partner_breakdown_keys(relation, map_column) %}
    {#- none before the relation exists (`dbt compile` or `docs generate` on a fresh warehouse) -#}
    {% if not execute or load_relation(relation) is none %}{{ return([]) }}{% endif %}
    {% set found = run_query("select distinct unnest(map_keys(" ~ map_column ~ ")) from " ~ relation
                             ~ " where " ~ not_official('source_type') ~ " order by 1") %}
    {{ return(found.columns[0].values() | list) }}
{% endmacro %}

{#- breakdown_1, breakdown_2, ...: one dimension column per key. -#}
{% macro partner_breakdown_names(keys) %}
    {% set names = [] %}
    {% for key in keys %}{% do names.append('breakdown_' ~ loop.index) %}{% endfor %}
    {{ return(names) }}
{% endmacro %}

{#- The breakdown columns (each followed by a comma): the cell's value for that key, or its total
    '_T' where the cell has no such breakdown or says _T. -#}
{% macro partner_breakdown_columns(keys, map_column) %}
    {%- for key in keys %}
    {%- set entry = map_column ~ "['" ~ (key | replace("'", "''")) ~ "']" %}
    case when coalesce({{ entry }}, '_T') = '_T' then '_T' else {{ entry }} end as breakdown_{{ loop.index }},
    {%- endfor %}
{% endmacro %}

{#- Whether a row's source is not an official aggregate (var official_source_types): the rows suppression is about. -#}
{% macro not_official(source_type='source_type') -%}
    {{ source_type }} not in ({% for type in var('official_source_types') %}'{{ type }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- var min_cell_size: the project's default, or MIN_CELL_SIZE as ingestion/config.py parsed it (passed with --vars). -#}
{% macro min_cell_size() %}
    {{ return(var('min_cell_size') | int) }}
{% endmacro %}

{#- True where a cell is too small to publish (var small_cell_sources says which source types count respondents,
    and whether a cell with no respondent count counts as small); false for every other source type. -#}
{% macro is_small_cell(source_type='source_type', sample_size='sample_size') %}
    case {{ source_type }}
    {%- for type, unknown_is_small in var('small_cell_sources').items() %}
        when '{{ type }}' then coalesce({{ sample_size }} < {{ min_cell_size() }}, {{ 'true' if unknown_is_small else 'false' }})
    {%- endfor %}
        else false
    end
{% endmacro %}
