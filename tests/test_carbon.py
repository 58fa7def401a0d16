"""engine.carbon: countries from codecarbon's energy mix, US states from its bundled EPA eGRID table."""

import pytest

from engine.carbon import co2e_g, grid_intensity, regions
from engine.measure.energy import EnergyMeter


def test_one_kwh_in_france_is_56_grams():
    # codecarbon 3.3.2 global energy mix: France 56.039 g/kWh (2023)
    fra = grid_intensity("FRA")
    assert co2e_g(1000.0, fra.g_per_kwh) == pytest.approx(56.04, abs=0.01)
    assert fra.year == 2023 and "Our World in Data" in fra.source


def test_us_states_converted_from_pounds_per_mwh():
    ca = grid_intensity("USA-CA")
    # eGRID2023 California STC2ERTA 394.769 lb/MWh x 0.453592 g/kWh per lb/MWh
    assert ca.g_per_kwh == pytest.approx(394.769 * 0.453592, abs=0.01)
    assert ca.g_per_kwh == pytest.approx(179.06, abs=0.01)
    assert ca.name == "California (USA)"
    assert ca.year == 2023
    assert "eGRID2023" in ca.source and "lbs/MWh" in ca.source
    assert ca.country_iso_code == "USA"
    assert grid_intensity("USA-WV").g_per_kwh == pytest.approx(1968.869 * 0.453592, abs=0.01)


def test_states_are_found_by_code_or_name_and_countries_stay():
    assert grid_intensity("usa-tx").region == "USA-TX"
    assert grid_intensity("california").region == "USA-CA"
    assert grid_intensity("District of Columbia (USA)").region == "USA-DC"
    assert grid_intensity("USA").name == "United States"  # the national figure still comes from the energy mix


def test_regions_list_countries_and_the_50_states_plus_dc_each_with_a_year():
    rows = regions()
    states = [g for g in rows if g.region.startswith("USA-")]
    assert len(states) == 51  # 50 states + DC; the table's national 'usa' row is not a state
    assert all(len(g.region) == 6 for g in states)
    assert len(rows) - len(states) > 200
    assert all(g.year > 2000 and g.source for g in rows)
    assert [g.name for g in rows] == sorted(g.name for g in rows)


def test_unknown_region_names_both_forms():
    with pytest.raises(ValueError, match=r"Unknown region 'USA-ZZ'.*USA-<state code> such as USA-CA"):
        grid_intensity("USA-ZZ")


def test_energy_meter_gives_codecarbon_the_country_of_a_state():
    meter = EnergyMeter(region="USA-CA")
    assert (meter.region, meter.country_iso_code) == ("USA-CA", "USA")
