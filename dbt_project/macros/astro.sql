{#- Physical units and formulas used by the models (docs/warehouse.md, "Units"). -#}

{% macro pc_in_cm() %}3.0856775814913673e18{% endmacro %}

{#- distance [pc] from parallax [mas], only when parallax / error > var('parallax_over_error_min') -#}
{% macro distance_pc(parallax_mas, parallax_error_mas) -%}
  (case when {{ parallax_mas }} > 0 and {{ parallax_error_mas }} > 0
         and {{ parallax_mas }} / {{ parallax_error_mas }} > {{ var('parallax_over_error_min') }}
        then 1000.0 / {{ parallax_mas }} end)
{%- endmacro %}

{#- L_nu = 4 pi d^2 S_nu [erg s^-1 Hz^-1]; S in mJy (1 mJy = 1e-26 erg s^-1 cm^-2 Hz^-1), d in pc -#}
{% macro l_nu_erg_s_hz(flux_mjy, dist_pc) -%}
  (4.0 * pi() * power(({{ dist_pc }}) * {{ pc_in_cm() }}, 2) * ({{ flux_mjy }}) * 1e-26)
{%- endmacro %}

{#- Julian year from MJD -#}
{% macro mjd_to_jyear(mjd) -%}
  (2000.0 + (({{ mjd }}) - 51544.5) / 365.25)
{%- endmacro %}

{#- q3c index on a position of the model being built (post-hook), then ANALYZE -#}
{% macro q3c_index(ra, dec) -%}
  create index if not exists {{ this.identifier }}_{{ ra }}_q3c_idx on {{ this }} (q3c_ang2ipix({{ ra }}, {{ dec }}));
  analyze {{ this }}
{%- endmacro %}

{% macro sql_list(values) -%}
  ({%- for v in values -%}'{{ v | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}
