{#- The reliability class of a best candidate (docs/warehouse.md, "Reliability class"). Thresholds are
    dbt vars (dbt_project.yml); radiostars.evaluate.metrics.reliability_class applies the same rule with
    the same vars. Arguments are SQL expressions; p_any_cut is the run's calibrated cut (NULL when the
    run recorded none: var p_any_cut_uncalibrated then applies).

    With p_any and p_i (Bayesian cross-identification):
      A  p_any >= greatest(cut, class_a_p_any) and p_i >= class_a_p_i and near_known_nonstellar is false
      B  p_any >= cut and p_i >= class_b_p_i and near_known_nonstellar is not true
    Without them (runs written before the Bayesian columns):
      A  p_chance < class_a_p_chance and n_candidates = 1 and near_known_nonstellar is false
      B  p_chance < class_b_p_chance and near_known_nonstellar is not true
    C  everything else. -#}
{% macro reliability_class(p_any, p_i, p_chance, n_candidates, near_known_nonstellar, p_any_cut) -%}
  (case
     when ({{ p_any }}) is not null and ({{ p_i }}) is not null then
       case
         when ({{ p_any }}) >= greatest({{ effective_p_any_cut(p_any_cut) }}, {{ var('class_a_p_any') }})
          and ({{ p_i }}) >= {{ var('class_a_p_i') }}
          and ({{ near_known_nonstellar }}) is false
           then 'A'
         when ({{ p_any }}) >= {{ effective_p_any_cut(p_any_cut) }}
          and ({{ p_i }}) >= {{ var('class_b_p_i') }}
          and ({{ near_known_nonstellar }}) is distinct from true
           then 'B'
         else 'C'
       end
     when ({{ p_chance }}) < {{ var('class_a_p_chance') }}
      and ({{ n_candidates }}) = 1
      and ({{ near_known_nonstellar }}) is false
       then 'A'
     when ({{ p_chance }}) < {{ var('class_b_p_chance') }}
      and ({{ near_known_nonstellar }}) is distinct from true
       then 'B'
     else 'C'
   end)
{%- endmacro %}

{#- The p_any cut a class uses: the run's calibrated cut, else var p_any_cut_uncalibrated. -#}
{% macro effective_p_any_cut(p_any_cut) -%}
  coalesce(({{ p_any_cut }}), {{ var('p_any_cut_uncalibrated') }})
{%- endmacro %}
