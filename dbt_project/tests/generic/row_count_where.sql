{#- Fails unless exactly `expected` rows satisfy the expression (e.g. one selected run). -#}
{% test row_count_where(model, expression, expected=1) %}
select n from (select count(*) as n from {{ model }} where {{ expression }}) c
where n <> {{ expected }}
{% endtest %}
