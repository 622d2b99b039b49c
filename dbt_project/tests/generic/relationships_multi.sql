{#- Composite foreign key: fails on rows of model whose `columns` have no match in `to` (`to_columns`,
    same names by default). Rows with a null key column are not checked. `model` may be a subquery
    (the `where` config), hence the CTE. -#}
{% test relationships_multi(model, to, columns, to_columns=none) %}
{%- set to_cols = to_columns or columns -%}
with child as (
    select * from {{ model }}
)
select {% for c in columns %}m.{{ c }}{{ ", " if not loop.last }}{% endfor %}
from child m
where {% for c in columns %}m.{{ c }} is not null and {% endfor %}
  not exists (
    select 1 from {{ to }} t
    where {% for c in columns %}m.{{ c }} = t.{{ to_cols[loop.index0] }}{{ " and " if not loop.last }}{% endfor %}
  )
{% endtest %}
