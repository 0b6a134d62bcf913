"""The order-select / order-sign services (issue 19): conformance of their context and answer, the PAMA
rating, and the decisions of every order fixture case. IDs are CDS_HOOKS.md's where one applies; the order
hooks' context is hook library 1.0.1 (order-select: userId, patientId, selections, draftOrders required;
order-sign: userId, patientId, draftOrders required; userId a Practitioner or PractitionerRole).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.clock import frozen_clock
from service.errors import KnowledgeError
from service.fixtures_catalog import Case, list_cases
from service.knowledge import load_knowledge
from service.settings import TrustedIssuer
from tests.support.app import client_for, schema_validator, settings_for, walk_no_empty
from tests.support.engine import CARDS_DIR, knowledge, run_order_case
from tests.support.tokens import BASE, ISS, claims, ec_key, mint, public_jwk

SELECT_URL = "/cds-services/back-pain-imaging-order-select"
SIGN_URL = "/cds-services/back-pain-imaging-order-sign"
URLS = {"order-select": SELECT_URL, "order-sign": SIGN_URL}
RATING_URL = "http://fhir.org/argonaut/Extension/pama-rating"
RATING_SYSTEM = "http://fhir.org/argonaut/CodeSystem/pama-rating"
CPT = "http://www.ama-assn.org/go/cpt"
OO = schema_validator("operation-outcome.schema.json")
RESPONSE = schema_validator("response.schema.json")
ORDER_CASES = [c for c in list_cases() if c.order_context is not None]
PAMA_CASE = next(c for c in ORDER_CASES if c.name == "C1M--in--order-select-pama-ct-draft-gets-whole-spine-mri")


def request_for(case: Case, hook: str | None = None, **context: Any) -> dict[str, Any]:
    """The case's order request with a complete prefetch, as an EHR would send it."""
    assert case.order_context is not None
    ctx = copy.deepcopy(case.order_context["context"])
    ctx.update(context)
    hook = hook or case.order_context["hook"]
    if hook == "order-sign":
        ctx.pop("selections", None)
    return {
        "hook": hook,
        "hookInstance": case.hook_instance,
        "context": ctx,
        "prefetch": case.prefetch(knowledge().service),
    }


def sandbox_request(case: Case = PAMA_CASE) -> dict[str, Any]:
    """Exactly the CDS Hooks sandbox's PAMA Imaging order-select request (cds-hooks/sandbox pama.jsx)."""
    return {
        "hook": "order-select",
        "hookInstance": case.hook_instance,
        "context": {
            "userId": "Practitioner/COREPRACTITIONER1",
            "patientId": case.patient_id,
            "selections": ["ServiceRequest/example-request-id"],
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [{"resource": {
                    "resourceType": "ServiceRequest",
                    "id": "example-request-id",
                    "status": "draft",
                    "intent": "plan",
                    "code": {"coding": [{"system": CPT, "code": "72133"}]},
                    "subject": {"reference": f"Patient/{case.patient_id}"},
                    "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "161891005"}]}],
                }}],
            },
        },
        "prefetch": case.prefetch(knowledge().service),
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module: every order case is frozen at the same T (fixture_kit.AS_OF)."""
    assert {c.as_of for c in ORDER_CASES} == {PAMA_CASE.as_of}
    with client_for(settings_for(tmp_path_factory.mktemp("orders")), clock=frozen_clock(PAMA_CASE.as_of)) as c:
        yield c


def assert_outcome(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    OO.validate(response.json())


def ratings(body: dict[str, Any], where: str = "systemActions") -> dict[str, str]:
    actions = body["extension"]["systemActions"] if where == "extension" else body.get("systemActions", [])
    out = {}
    for action in actions:
        assert action["type"] == "update" and action["description"]
        (ext,) = [e for e in action["resource"]["extension"] if e["url"] == RATING_URL]
        (coding,) = ext["valueCodeableConcept"]["coding"]
        assert coding["system"] == RATING_SYSTEM
        out[f"ServiceRequest/{action['resource']['id']}"] = coding["code"]
    return out


# --- discovery --------------------------------------------------------------------------------------------


def test_B4_discovery_lists_both_order_services_with_the_patient_view_prefetch(client: TestClient) -> None:
    services = {s["id"]: s for s in client.get("/cds-services").json()["services"]}
    chart = services["back-pain-red-flags"]
    assert services["back-pain-imaging-order-select"]["hook"] == "order-select"
    assert services["back-pain-imaging-order-sign"]["hook"] == "order-sign"
    for sid in ("back-pain-imaging-order-select", "back-pain-imaging-order-sign"):
        assert services[sid]["prefetch"] == chart["prefetch"]
        assert services[sid]["title"] and "draftOrders" in services[sid]["usageRequirements"]


# --- context validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize("missing", ["userId", "patientId", "draftOrders"])
def test_D1_order_context_without_a_required_field_is_400(client: TestClient, hook: str, missing: str) -> None:
    body = request_for(PAMA_CASE, hook)
    del body["context"][missing]
    assert_outcome(client.post(URLS[hook], json=body), 400)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize("user_id", ["Patient/p1", "RelatedPerson/r1", "example", "Practitioner/", "Practitioner/a/b"])
def test_D3_order_user_must_be_a_practitioner_or_role(client: TestClient, hook: str, user_id: str) -> None:
    assert_outcome(client.post(URLS[hook], json=request_for(PAMA_CASE, hook, userId=user_id)), 400)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_D3_practitioner_role_is_an_accepted_user(client: TestClient, hook: str) -> None:
    response = client.post(URLS[hook], json=request_for(PAMA_CASE, hook, userId="PractitionerRole/r-1"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize(
    "draft_orders",
    [None, [], "Bundle", {"entry": []}, {"resourceType": "ServiceRequest", "id": "x"}],
    ids=["null", "list", "string", "no-resourceType", "not-a-bundle"],
)
def test_draft_orders_must_be_a_bundle(client: TestClient, hook: str, draft_orders: Any) -> None:
    assert_outcome(client.post(URLS[hook], json=request_for(PAMA_CASE, hook, draftOrders=draft_orders)), 400)


@pytest.mark.parametrize(
    "selections",
    [None, [], "ServiceRequest/example-request-id", ["ServiceRequest/other"], ["example-request-id"],
     ["MedicationRequest/example-request-id"], ["ServiceRequest/example-request-id", "ServiceRequest/missing"]],
    ids=["null", "empty", "string", "unknown-id", "no-type", "wrong-type", "one-unresolved"],
)
def test_order_select_selections_must_resolve_inside_draft_orders(client: TestClient, selections: Any) -> None:
    body = request_for(PAMA_CASE, selections=selections)
    if selections is None:
        del body["context"]["selections"]
    assert_outcome(client.post(SELECT_URL, json=body), 400)


def test_order_sign_needs_no_selections_and_ignores_them(client: TestClient) -> None:
    body = request_for(PAMA_CASE, "order-sign")
    assert "selections" not in body["context"]
    assert client.post(SIGN_URL, json=body).status_code == 200
    body["context"]["selections"] = ["ServiceRequest/not-in-the-bundle"]  # not part of order-sign (A6)
    assert client.post(SIGN_URL, json=body).status_code == 200


@pytest.mark.parametrize(("url", "hook"), [(SELECT_URL, "order-sign"), (SIGN_URL, "patient-view"),
                                           ("/cds-services/back-pain-red-flags", "order-select")])
def test_C4_wrong_hook_for_an_order_service_is_400(client: TestClient, url: str, hook: str) -> None:
    body = request_for(PAMA_CASE)
    body["hook"] = hook
    assert_outcome(client.post(url, json=body), 400)


def test_C1_unknown_order_service_is_404(client: TestClient) -> None:
    assert_outcome(client.post("/cds-services/back-pain-imaging-order-review", json=request_for(PAMA_CASE)), 404)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_E10_G3_required_data_unobtainable_is_412(client: TestClient, hook: str) -> None:
    body = request_for(PAMA_CASE, hook)
    del body["prefetch"]
    assert_outcome(client.post(URLS[hook], json=body), 412)


def test_odd_entries_in_draft_orders_are_skipped_not_refused(client: TestClient) -> None:
    body = sandbox_request()
    body["context"]["draftOrders"]["entry"] += [None, 3, {"resource": "x"}, {"resource": {"id": "no-type"}}]
    response = client.post(SELECT_URL, json=body)
    assert response.status_code == 200
    assert ratings(response.json()) == {"ServiceRequest/example-request-id": "not-appropriate"}


def test_A2_empty_members_of_a_draft_are_not_echoed(client: TestClient) -> None:
    """The sandbox sends ``reasonCode: []`` when no reason is picked; the answer must still have no empty member."""
    body = sandbox_request()
    body["context"]["draftOrders"]["entry"][0]["resource"].update(reasonCode=[], note=[{"text": ""}], priority=None)
    answer = client.post(SELECT_URL, json=body).json()
    assert walk_no_empty(answer) == []
    assert ratings(answer) == {"ServiceRequest/example-request-id": "not-appropriate"}


def test_a_draft_about_another_patient_is_never_used(client: TestClient) -> None:
    body = sandbox_request()
    body["context"]["draftOrders"]["entry"][0]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    response = client.post(SELECT_URL, json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


# --- the answer -------------------------------------------------------------------------------------------


def test_sandbox_pama_request_gets_the_rating_and_the_mri_update_suggestion(client: TestClient) -> None:
    """The sandbox reads extension.systemActions for the rating and applies an update suggestion's resource
    (its code.coding[0], reasonCode and pama-rating extension: pama.jsx dispatchSuggestedUpdates)."""
    response = client.post(SELECT_URL, json=sandbox_request())
    assert response.status_code == 200, response.text
    body = response.json()
    RESPONSE.validate(body)
    assert walk_no_empty(body) == []
    assert ratings(body) == ratings(body, "extension") == {"ServiceRequest/example-request-id": "not-appropriate"}
    rated = body["systemActions"][0]["resource"]
    assert rated["code"] == {"coding": [{"system": CPT, "code": "72133"}]}  # no semantic change (Argonaut)
    (card,) = body["cards"]
    assert card["indicator"] == "critical" and card["selectionBehavior"] == "at-most-one"
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    resource = action["resource"]
    assert resource["id"] == "example-request-id" and resource["status"] == "draft" and resource["intent"] == "plan"
    assert resource["code"]["coding"][0] == {
        "system": "http://loinc.org", "code": "30854-4",
        "display": "MR Cervical and thoracic and lumbar spine WO contrast",
    }
    assert resource["priority"] == "stat"
    assert resource["occurrencePeriod"]["end"] == "2026-03-16T10:00:00Z"  # T + the C1 plan's 24 hours
    assert resource["reasonCode"][0]["coding"][0]["code"] == "161891005"
    assert ratings({"systemActions": [action]}) == {"ServiceRequest/example-request-id": "appropriate"}
    assert body == PAMA_CASE.expected()


@pytest.mark.parametrize("case", ORDER_CASES, ids=lambda c: c.name)
def test_G1_I1_every_order_case_answers_its_golden_over_http(client: TestClient, case: Case) -> None:
    response = client.post(URLS[case.order_context["hook"]], json=request_for(case))  # type: ignore[index]
    assert response.status_code == 200, response.text
    body = response.json()
    RESPONSE.validate(body)
    assert walk_no_empty(body) == []
    assert body == case.expected()


@pytest.mark.parametrize("case", ORDER_CASES, ids=lambda c: c.name)
def test_every_order_case_gets_its_decision_and_one_rating_per_service_request_in_scope(case: Case) -> None:
    result, body = run_order_case(case)
    expected = case.order_context["decisions"]  # type: ignore[index]
    assert {d.ref: d.decision for d in result.decisions} == expected
    rows = {row.id: row for row in knowledge().order.decisions.decisions}
    assert ratings(body) == {ref: rows[decision].then.rating for ref, decision in expected.items()}
    assert len(body["cards"]) == sum(1 for d in expected.values() if rows[d].then.card)
    tiers = knowledge().order.decisions.red_flag_tiers
    for card in body["cards"]:
        if card.get("suggestions"):  # the mismatch card: the tier's urgency, an update of the same draft
            assert case.tier in tiers and card["indicator"] == tiers[case.tier].indicator
            (action,) = card["suggestions"][0]["actions"]
            assert action["type"] == "update" and f"ServiceRequest/{action['resource']['id']}" in expected
        else:
            assert card["indicator"] == "info" and card["summary"].startswith("Imaging not routinely indicated")
            assert "red-flag-not-in-record" in {r["code"] for r in card["overrideReasons"]}
        # The override reasons are cards/feedback.json's for this hook and order card (issue 19), never others
        kind = "mismatch" if card.get("suggestions") else "early"
        tier = case.tier if kind == "mismatch" else None
        hook = case.order_context["hook"]  # type: ignore[index]
        offered = knowledge().feedback.override_reasons(hook, tier, kind)
        assert card["overrideReasons"] == [r.model_dump(exclude_none=True) for r in offered]
        assert "snooze" not in {r["code"] for r in card["overrideReasons"]}


def test_every_decision_and_both_hooks_have_a_fixture_case() -> None:
    seen = {(c.order_context["hook"], d) for c in ORDER_CASES for d in c.order_context["decisions"].values()}  # type: ignore[index]
    for row in knowledge().order.decisions.decisions:
        assert {(hook, row.id) for hook in ("order-select", "order-sign")} & seen, row.id
    assert {hook for hook, _ in seen} == {"order-select", "order-sign"}


def test_order_sign_decides_every_draft_and_order_select_only_the_selected(client: TestClient) -> None:
    case = next(c for c in ORDER_CASES if c.name == "C1--in--order-sign-rates-every-draft")
    signed = client.post(SIGN_URL, json=request_for(case)).json()
    selected = client.post(SELECT_URL, json=request_for(
        case, "order-select", selections=["ServiceRequest/o8a-draft-ct"])).json()
    assert ratings(signed) == {"ServiceRequest/o8a-draft-ct": "not-appropriate",
                               "ServiceRequest/o8a-draft-fbc": "no-criteria-apply"}
    assert ratings(selected) == {"ServiceRequest/o8a-draft-ct": "not-appropriate"}
    assert len(signed["cards"]) == len(selected["cards"]) == 1


def test_card_text_never_carries_strings_from_the_draft(client: TestClient) -> None:
    body = sandbox_request()
    marker = "<script>descriptor text</script>"
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["code"] = {"coding": [{"system": CPT, "code": "72133", "display": marker}], "text": marker}
    draft["note"] = [{"text": marker}]
    (card,) = client.post(SELECT_URL, json=body).json()["cards"]
    shown = json.dumps({k: v for k, v in card.items() if k != "suggestions"}) + card["suggestions"][0]["label"]
    assert "descriptor" not in shown


# --- shared plumbing: feedback, JWT, CORS, metrics ----------------------------------------------------------


@pytest.mark.parametrize("url", [SELECT_URL, SIGN_URL])
def test_J2_feedback_is_accepted_for_the_order_services(client: TestClient, url: str) -> None:
    card = client.post(SELECT_URL, json=sandbox_request()).json()["cards"][0]
    reason = next(r for r in card["overrideReasons"] if r["code"] == "patient-contraindication")
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-03-15T10:05:00Z",
            "overrideReason": {"reason": reason}}
    response = client.post(url + "/feedback", json={"feedback": [item]})
    assert response.status_code == 200 and response.content == b""
    assert_outcome(client.post(url + "/feedback", json={"feedback": []}), 400)


@pytest.mark.parametrize("url", [SELECT_URL, SIGN_URL])
def test_K2_K6_order_services_need_a_jwt_whose_aud_is_their_url(tmp_path: Path, url: str) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks={"keys": [public_jwk(ec_key(), "k1", "ES384")]})
    settings = settings_for(tmp_path, profile="production", public_base_url=BASE, trusted_issuers=[issuer])
    body = sandbox_request() if url == SELECT_URL else request_for(PAMA_CASE, "order-sign")
    with client_for(settings, clock=frozen_clock(PAMA_CASE.as_of)) as c:
        missing = c.post(url, json=body)
        wrong = c.post(url, json=body, headers={"Authorization": "Bearer " + mint(ec_key(), claims(SELECT_URL + "x"))})
        good = c.post(url, json=body, headers={"Authorization": "Bearer " + mint(ec_key(), claims(url))})
    assert missing.status_code == wrong.status_code == 401 and missing.content == b""
    assert good.status_code == 200, good.text


def test_L3_cors_on_order_services(client: TestClient) -> None:
    headers = {"Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type"}
    assert client.options(SELECT_URL, headers=headers).status_code == 200
    bad = client.post(SIGN_URL, content=b"{", headers={"Origin": headers["Origin"], "content-type": "application/json"})
    assert bad.status_code == 400 and bad.headers["access-control-allow-origin"] in ("*", headers["Origin"])


def test_order_cards_are_counted_apart_from_chart_cards_in_the_metrics(client: TestClient) -> None:
    label = f'"order/{PAMA_CASE.tier}"'
    before = client.get("/metrics").text
    client.post(SELECT_URL, json=sandbox_request())
    after = client.get("/metrics").text

    def value(text: str) -> float:
        line = next(
            (ln for ln in text.splitlines() if ln.startswith("backpain_cds_cards_total") and label in ln), ""
        )
        return float(line.rsplit(" ", 1)[1]) if line else 0.0

    assert value(after) == value(before) + 1


# --- knowledge -------------------------------------------------------------------------------------------


def test_spine_imaging_list_is_built_from_the_shared_tsv_and_holds_codes_only() -> None:
    import sys

    sys.path.insert(0, str(CARDS_DIR.parent / "scripts"))
    import build_spine_imaging

    built = build_spine_imaging.build(build_spine_imaging.shared_tsv())
    committed = json.loads((CARDS_DIR / "spine-imaging.json").read_text(encoding="utf-8"))
    assert built == committed, "run python scripts/build_spine_imaging.py"
    assert all("display" not in s for s in committed["studies"])
    imaging = knowledge().order.imaging
    study = imaging.classify([{"system": CPT, "code": "72133"}])
    assert study is not None and (study.modality, study.region) == ("CT", "lumbar")
    study = imaging.classify([{"system": "http://loinc.org", "code": "30854-4"}])
    assert study is not None and (study.modality, study.region) == ("MRI", "whole")
    for code in ("72159", *(str(c) for c in range(72191, 72199)), "75561"):
        assert imaging.classify([{"system": CPT, "code": code}]) is None, code


def test_no_cpt_descriptor_words_in_order_knowledge() -> None:
    """CPT descriptors are licensed: cards/ names studies in its own words, never the CPT wording."""
    for name in ("spine-imaging.json", "order-decisions.json"):
        text = (CARDS_DIR / name).read_text(encoding="utf-8").lower()
        for phrase in ("spinal canal and contents", "contrast material", "further sections", "further sequences"):
            assert phrase not in text, (name, phrase)


def _broken_copy(tmp_path: Path, change: Any) -> Path:
    import shutil

    root = tmp_path / "cards"
    shutil.copytree(CARDS_DIR, root)
    data = json.loads((root / "order-decisions.json").read_text(encoding="utf-8"))
    change(data)
    (root / "order-decisions.json").write_text(json.dumps(data), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["cards"]["mismatch"].update(summary="{lead}: {nope}"), "unknown placeholder"),
        (lambda d: d["redFlagTiers"]["C1"].update(lead="x" * 40) or d["cards"]["mismatch"].update(
            summary="{lead} and a very long sentence here: consider {needed} instead of the ordered {ordered}"),
         "can reach"),
        (lambda d: d["decisions"].pop(), "without conditions"),
        (lambda d: d["studyNames"]["CT"].pop("lumbar"), "studyNames.CT"),
        (lambda d: d["decisions"][0].update(when={"draft": "misses-need"}), "needs a red-flag tier"),
        (lambda d: d["cards"]["early"]["links"].append("NOPE"), "unknown guideline"),
        (lambda d: d["redFlagTiers"].update(C9={"indicator": "warning", "lead": "x"}), "not tiers with a plan"),
    ],
    ids=["placeholder", "summary-length", "no-default-row", "study-name", "mismatch-without-tier", "link", "tier"],
)
def test_broken_order_knowledge_stops_start_up(tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(_broken_copy(tmp_path, change))


# --- the decision table in isolation and odd input -------------------------------------------------------

WHOLE = {"system": "http://loinc.org", "code": "30854-4"}


@pytest.mark.parametrize(
    ("needed", "ordered", "tag"),
    [
        ("30854-4", {"system": CPT, "code": "72148"}, "misses-need"),  # whole needed, lumbar MRI ordered
        ("30854-4", WHOLE, "covers-need"),
        ("24967-2", {"system": CPT, "code": "72158"}, "covers-need"),  # lumbar needed, lumbar MRI WO+W
        ("24967-2", {"system": "http://loinc.org", "code": "30679-5"}, "covers-need"),  # contrast not compared
        ("24967-2", {"system": "http://loinc.org", "code": "94088-2"}, "covers-need"),  # thoracolumbar MRI
        ("24981-3", {"system": CPT, "code": "72148"}, "misses-need"),  # thoracic needed, lumbar MRI
        ("24967-2", {"system": CPT, "code": "72131"}, "misses-need"),  # CT never covers
        ("24967-2", {"system": "http://loinc.org", "code": "36067-7"}, "misses-need"),  # MRI, region not stated
    ],
)
def test_draft_covers_the_need_by_modality_and_region(needed: str, ordered: dict[str, str], tag: str) -> None:
    from service.order_engine import NeededMri, draft_tags

    k = knowledge()
    need = k.order.imaging.classify([{"system": "http://loinc.org", "code": needed}])
    assert need is not None
    study = k.order.imaging.classify([ordered])
    tags = draft_tags(study, "red-flag", NeededMri(need, {}, "label"), k)
    assert tags == {"spine-imaging", tag}
    assert draft_tags(study, "other", None, k) == {"spine-imaging"}
    assert draft_tags(None, "red-flag", None, k) == frozenset()


KEYS = st.sampled_from(["resourceType", "id", "resource", "entry", "code", "coding", "system", "subject", "reference"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["ServiceRequest", "Bundle"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@given(entries=st.lists(JSON, max_size=4), selections=JSON, hook=st.sampled_from(["order-select", "order-sign"]))
@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_draft_orders_content_gets_200_or_400_never_500(
    client: TestClient, entries: list[Any], selections: Any, hook: str
) -> None:
    body = sandbox_request()
    body["hook"] = hook
    body["context"]["draftOrders"]["entry"] += entries
    body["context"]["selections"] = selections
    response = client.post(URLS[hook], json=body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        OO.validate(response.json())
    else:
        RESPONSE.validate(response.json())
