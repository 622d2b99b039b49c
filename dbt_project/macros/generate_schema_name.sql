{#- Layer schemas are used as named (staging, intermediate), not prefixed with the target schema;
    the marts go to var('marts_schema') (default marts_build) so a build never touches live `marts`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}
    {{ target.schema }}
  {%- elif custom_schema_name | trim == 'marts' -%}
    {{ var('marts_schema', 'marts_build') }}
  {%- else -%}
    {{ custom_schema_name | trim }}
  {%- endif -%}
{%- endmacro %}
