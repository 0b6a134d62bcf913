"""Every fixture patient has a name, so the sandbox and an EHR show a person, not "Unknown"."""

from __future__ import annotations

from service.fixtures_catalog import list_cases


def test_every_fixture_patient_has_an_official_name_with_its_case_slug() -> None:
    names = {}
    for case in list_cases():
        [patient] = [r for r in case.resources() if r["resourceType"] == "Patient"]
        [name] = patient["name"]
        assert name["use"] == "official" and name["family"] and name["given"], case.name
        slug = patient["id"].removesuffix("-pat")
        assert name["text"] == f"{name['given'][0]} {name['family']} ({slug})", case.name
        names[name["text"]] = case.name
    assert len(names) == len(list_cases())  # the slug keeps them apart
