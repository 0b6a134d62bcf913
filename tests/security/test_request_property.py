"""Property: no JSON value in any field of a request gets a 500 (issue 16).

The whole request goes through the real app (validation, prefetch resolution, policy, engine, feedback
storage), so every reader of request data is exercised, not only the engine. Inputs are generated
around real fixture cases (one value, type or date changed somewhere in the record) and from scratch.
Fixed seed (``derandomize``) and bounded example counts keep the run deterministic and short.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cdshooks.models import HookRequest
from service.clock import frozen_clock
from service.errors import FhirAccessError
from service.fhir.base_url import InvalidBaseUrl, parse_base_url
from service.fhir.policy import fhir_server_for
from service.fixtures_catalog import Case, list_cases
from service.main import create_app
from service.security.startup import InsecureSettingsError
from service.settings import Settings
from tests.support.app import SERVICE_URL, settings_for
from tests.support.engine import knowledge

CASES = {case.name: case for case in list_cases()}
C1 = CASES["C1--in--leg-weakness-with-breast-cancer"]
AROUND = [CASES[name] for name in sorted(CASES) if "--in--" in name][:8]
SPEC = knowledge().service
FEEDBACK_URL = SERVICE_URL + "/feedback"
# A base nothing listens on (discard port): allowlisted callbacks fail fast with "unreachable".
DEAD_BASE = "http://127.0.0.1:9/fhir"
CONTRACT = {200, 400, 412}
BUDGET = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


def hook_body(case: Case, prefetch: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": case.hook_instance,  # the golden file's card uuids derive from it
        "context": {"userId": "Practitioner/example", "patientId": case.patient_id},
        "prefetch": case.prefetch(SPEC) if prefetch is None else prefetch,
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module: development profile, callbacks allowed only to a dead base."""
    path = tmp_path_factory.mktemp("property")
    app_settings = settings_for(path, fhir_server_allowlist=[DEAD_BASE], log_level="ERROR")
    with TestClient(create_app(app_settings, clock=frozen_clock(C1.as_of)), raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, url: str, body: Any) -> httpx.Response:
    """POST ``body`` as JSON whatever it is (httpx sends no body for a falsy ``json=``)."""
    return client.post(url, content=orjson.dumps(body), headers={"Content-Type": "application/json"})


def check(response: httpx.Response, allowed: set[int] = CONTRACT) -> None:
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    if response.status_code == 200 and response.content:
        assert len(response.json()["cards"]) <= 1
    elif response.status_code != 200:
        assert response.json()["resourceType"] == "OperationOutcome"


# --- the regression the issue names --------------------------------------------------------------


def test_C1_with_an_unrelated_condition_recorded_in_9999_keeps_its_card(client: TestClient) -> None:
    """C1 plus one Condition whose recordedDate is past what a UTC datetime can hold: the card stays."""
    body = hook_body(C1)
    body["prefetch"]["conditions"]["entry"].append({"resource": {
        "resourceType": "Condition", "id": "far-future", "subject": {"reference": f"Patient/{C1.patient_id}"},
        "code": {"text": "Unrelated"}, "recordedDate": "9999-12-31T23:59:59-05:00"}})
    response = client.post(SERVICE_URL, json=body)
    assert response.status_code == 200
    assert response.json() == C1.expected()


@pytest.mark.parametrize("shape", ["entry", "link"])
@pytest.mark.parametrize("junk", [5, "x", {"resource": {}}, True])
def test_a_bundle_whose_entry_or_link_is_not_a_list_is_refetched_not_a_500(
    client: TestClient, shape: str, junk: Any
) -> None:
    """An unusable Conditions Bundle is 'not satisfied': refetched, and here (no fhirServer) a 412."""
    body = hook_body(C1)
    body["prefetch"]["conditions"][shape] = junk
    response = client.post(SERVICE_URL, json=body)
    assert response.status_code == 412
    assert "conditions (Condition)" in response.text


# --- generated values around the fixture cases ---------------------------------------------------

ODD_DATES = [
    "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31", "0001-01-01", "0000-01-01",
    "2024-02-30", "2024-13-01", "2024-01-01T25:61:00Z", "2024-01-01T10:00:00+14:00", "2024-06-01T00:00:00",
    "99999-01-01", "-0001-01-01", "2024", "2024-02", "", " ", "yesterday", "2024-01-01T10:00:00.123456789Z",
]
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20), st.sampled_from(ODD_DATES),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a member or item of ``value`` (the places a mutation can land)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _set(root: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        root = root[step]
    root[path[-1]] = value


@st.composite
def mutated_prefetch(draw: st.DrawFn) -> tuple[Case, dict[str, Any]]:
    """A fixture case's prefetch with 1-3 values replaced: odd dates, wrong types, junk JSON."""
    case = draw(st.sampled_from(AROUND))
    prefetch = copy.deepcopy(case.prefetch(SPEC))
    for _ in range(draw(st.integers(1, 3))):
        paths = sorted(_paths(prefetch), key=repr)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        _set(prefetch, path, draw(st.one_of(st.sampled_from(ODD_DATES), json_value)))
    return case, prefetch


@BUDGET
@given(mutated=mutated_prefetch())
def test_mutated_fixture_prefetch_never_gets_a_500(client: TestClient, mutated: tuple[Case, dict[str, Any]]) -> None:
    case, prefetch = mutated
    check(post(client, SERVICE_URL, hook_body(case, prefetch)))


# --- generated requests from scratch -------------------------------------------------------------

url_like = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
        st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "http:/", "//", ""]),
        st.sampled_from(["127.0.0.1", "localhost", "[::1]", "[::1", "ehr.example", "10.0.0.1", "", "a@b", "%00"]),
        st.sampled_from(["", ":9", ":0", ":99999", ":x", ":", ":-1"]),
        st.sampled_from(["", "/fhir", "/fhir/../admin", "/fhir/%2e%2e/x", "/fhir?x=1", "/fhir#f", "/f\\g", "/ü"]),
    ),
)
prefetch_keys = st.sampled_from(sorted(SPEC.prefetch))
resource_like = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Patient", "Condition", "Observation", "Bundle", "OperationOutcome", "X"])},
    optional={"id": json_value, "entry": json_value, "link": json_value, "birthDate": st.sampled_from(ODD_DATES),
              "recordedDate": st.sampled_from(ODD_DATES), "onsetAge": json_value, "code": json_value},
)
scratch_request = st.fixed_dictionaries(
    {
        "hook": st.one_of(st.just("patient-view"), json_value),
        "hookInstance": st.one_of(st.just("h-1"), json_value),
        "context": st.one_of(
            st.fixed_dictionaries({"userId": st.just("Practitioner/x"), "patientId": st.just("p1")}), json_value
        ),
    },
    optional={
        "prefetch": st.one_of(st.dictionaries(prefetch_keys, st.one_of(resource_like, json_value)), json_value),
        "fhirServer": st.one_of(url_like, json_value),
        "fhirAuthorization": st.one_of(
            st.fixed_dictionaries({"access_token": st.just("t"), "token_type": st.just("Bearer"),
                                   "expires_in": st.just(300), "scope": st.just("x"), "subject": st.just("s")}),
            json_value,
        ),
        "extension": json_value,
    },
)


@BUDGET
@given(body=scratch_request)
def test_generated_requests_never_get_a_500(client: TestClient, body: dict[str, Any]) -> None:
    check(post(client, SERVICE_URL, body))


# --- fhirServer strings: policy is total and agrees with httpx on where a request would go --------


near_allowed = st.builds(
    lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
    st.sampled_from(["https://", "HTTPS://", "http://", "https:"]),
    st.sampled_from(["ehr.example", "EHR.example", "ehr.example.", "ehr.example.evil", "evil@ehr.example",
                     "ehr.example@evil", "[::1", "ehr.exam%70le"]),
    st.sampled_from(["", ":443", ":8443", ":x", ":99999"]),
    st.lists(st.sampled_from(["fhir", "fhir-other", "..", ".", "%2e%2e", "%2E.", "x%2fy", "", "tenant-1", "a\\b"]),
             max_size=4).map(lambda parts: "".join("/" + part for part in parts)),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(url=st.one_of(near_allowed, url_like))
def test_fhir_server_policy_is_total_and_never_escapes_the_allowlist(url: str) -> None:
    allow = Settings(_env_file=None, fhir_server_allowlist=["https://ehr.example/fhir"])  # type: ignore[call-arg]
    body = {"hook": "patient-view", "hookInstance": "h", "fhirServer": url,
            "context": {"userId": "Practitioner/x", "patientId": "p1"}}
    try:
        request = HookRequest.model_validate(body)
    except ValueError:
        return  # refused at the edge with a 400
    try:
        server = fhir_server_for(request, allow)
    except FhirAccessError:
        return
    target = httpx.URL(server.base_url + "/Condition")  # where httpx would really send a callback
    assert (target.scheme, target.host, target.port or 443) == ("https", "ehr.example", 443)
    assert target.path.startswith("/fhir/")
    assert ".." not in target.path and "%2e" not in target.path.lower()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://ehr.example/fhir/../admin", "dot segments"),
        ("https://ehr.example/fhir/%2e%2e/admin", "dot segments"),
        ("https://ehr.example/fhir-other", "allowlist"),
        ("https://ehr.example.evil/fhir", "allowlist"),
        ("https://ehr.example:8443/fhir", "allowlist"),
        ("http://ehr.example/fhir", "allowlist"),
        ("https://user@ehr.example/fhir", "user information"),
        ("https://[::1/fhir", "not a parsable URL"),
    ],
)
def test_F9_allowlist_compares_scheme_host_port_and_path_segments(url: str, reason: str) -> None:
    allow = Settings(_env_file=None, fhir_server_allowlist=["https://ehr.example/fhir"])  # type: ignore[call-arg]
    request = HookRequest.model_validate({"hook": "patient-view", "hookInstance": "h", "fhirServer": url,
                                          "context": {"userId": "Practitioner/x", "patientId": "p1"}})
    with pytest.raises(FhirAccessError, match=reason):
        fhir_server_for(request, allow)


def test_F9_an_allowlisted_base_admits_its_own_paths_and_default_port() -> None:
    allow = Settings(_env_file=None, fhir_server_allowlist=["https://ehr.example/fhir/"])  # type: ignore[call-arg]
    for url in ("https://ehr.example/fhir", "https://EHR.example:443/fhir/tenant-1"):
        request = HookRequest.model_validate({"hook": "patient-view", "hookInstance": "h", "fhirServer": url,
                                              "fhirAuthorization": {"access_token": "t", "token_type": "Bearer",
                                                                    "expires_in": 1, "scope": "s", "subject": "x"},
                                              "context": {"userId": "Practitioner/x", "patientId": "p1"}})
        assert fhir_server_for(request, allow).token == "t"


def test_an_unparseable_fhir_server_is_a_412_not_a_500(client: TestClient) -> None:
    body = hook_body(C1, prefetch={})
    body["fhirServer"] = "http://[::1/fhir"
    response = post(client, SERVICE_URL, body)
    assert response.status_code == 412
    assert "not a usable FHIR base URL" in response.text
    assert "[::1" not in response.text


# --- feedback ------------------------------------------------------------------------------------

STAMPS = [*ODD_DATES, "2026-11-25T10:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", 1e12, -1]
feedback_item = st.fixed_dictionaries(
    {
        "card": st.one_of(st.just("4e0a3a1e-3283-4575-ab82-028d55fe2719"), st.text(max_size=300), json_value),
        "outcome": st.one_of(st.just("overridden"), st.just("accepted"), json_value),
        "outcomeTimestamp": st.one_of(st.sampled_from(STAMPS), json_value),
    },
    optional={
        "acceptedSuggestions": st.one_of(st.lists(st.fixed_dictionaries({"id": st.text(max_size=5)}), max_size=3),
                                         json_value),
        "overrideReason": st.one_of(
            st.fixed_dictionaries({}, optional={
                "reason": st.fixed_dictionaries({"system": st.text(max_size=600), "code": st.text(max_size=300)}),
                "userComment": st.text(max_size=50)}),
            json_value,
        ),
    },
)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def test_generated_feedback_never_gets_a_500(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'fb.db'}"
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_server").create_database()
    app_settings = settings_for(tmp_path, database_url=url, log_level="ERROR", feedback_max_items=5)

    with TestClient(create_app(app_settings), raise_server_exceptions=False) as client:

        @settings(BUDGET, max_examples=80 if backend == "postgresql" else 120)
        @given(body=st.one_of(
            st.fixed_dictionaries({"feedback": st.lists(feedback_item, max_size=7)},
                                  optional={"hookInstance": st.one_of(st.text(max_size=300), json_value)}),
            json_value,
        ))
        def run(body: Any) -> None:
            check(post(client, FEEDBACK_URL, body), {200, 400, 413})

        run()


@pytest.mark.parametrize("entry", ["https://", "http://", "ehr.example/fhir", "https://a@ehr.example/f", "", "https://x/../y"])
def test_allowlist_entries_without_a_host_or_with_tricks_are_invalid(entry: str) -> None:
    with pytest.raises(InvalidBaseUrl):
        parse_base_url(entry)


def test_an_allowlist_of_just_a_scheme_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(InsecureSettingsError, match="FHIR_SERVER_ALLOWLIST: entry 1"):
        create_app(settings_for(tmp_path, fhir_server_allowlist=["https://"]))
