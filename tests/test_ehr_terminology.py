"""CLINICAL_RULES.md item 29 (d): ICD-10-CM under its OID URI, and weights in pounds or grams as EHRs send them."""

from __future__ import annotations

import pytest

from service.fact_readers import weight_kg
from service.fhir.models import Quantity
from service.knowledge.valuesets import ICD10CM, normalise

UCUM = "http://unitsofmeasure.org"


def test_icd10cm_oid_uri_is_icd10cm_and_dotted() -> None:
    assert normalise("urn:oid:2.16.840.1.113883.6.90", "M5450") == (ICD10CM, "M54.50")
    assert normalise(" urn:oid:2.16.840.1.113883.6.90 ", "c50.911") == (ICD10CM, "C50.911")
    assert normalise("urn:oid:2.16.840.1.113883.6.96", "279039007")[0] != ICD10CM  # SNOMED CT's OID is not


@pytest.mark.parametrize(
    ("quantity", "kg"),
    [
        (Quantity(value=200, unit="lbs"), 90.718474),
        (Quantity(value=200, unit="lb"), 90.718474),
        (Quantity(value=200, unit="Pounds"), 90.718474),
        (Quantity(value=1, unit="pound"), 0.45359237),
        (Quantity(value=200, unit="lb", system=UCUM, code="[lb_av]"), 90.718474),
        (Quantity(value=84500, unit="g", system=UCUM, code="g"), 84.5),
        (Quantity(value=84500, unit="grams"), 84.5),
        (Quantity(value=80, unit="kg", system=UCUM, code="kg"), 80.0),
        (Quantity(value=3200, unit="oz", system=UCUM, code="[oz_av]"), 90.718474),
    ],
)
def test_weight_units(quantity: Quantity, kg: float) -> None:
    assert weight_kg(quantity) == pytest.approx(kg)


@pytest.mark.parametrize("unit", ["stone", "mg", "", "%"])
def test_unknown_weight_units_are_not_guessed(unit: str) -> None:
    assert weight_kg(Quantity(value=12, unit=unit)) is None
