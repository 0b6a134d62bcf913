"""The benchmark's clinical-notes workload: the typical body plus 10 clinical notes of about 200 words each.

The notes read like primary-care and spinal-clinic entries (written for this benchmark): red-flag screens
documented as negatives, safety-netting, history, a few positive findings, so that every kind of ConText
modifier is exercised. Deterministic: note i takes the sentences from a fixed rotation of the pool.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

from service.bench.bodies import Body, hook_request, searchset, typical_body
from service.knowledge.service_spec import ServiceSpec

NOTES = 10
WORDS_PER_NOTE = 200
NOTE_CATEGORY = {
    "coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                "code": "clinical-note", "display": "Clinical Note"}]
}
POOL = (
    "Seen today for review of low back pain which started after lifting boxes at work.",
    "Pain is mainly in the lower lumbar region with some radiation into the left buttock.",
    "Red flags negative: no night pain, no weight loss, no saddle anaesthesia and no urinary retention.",
    "Denies numbness or tingling in the legs and walks without difficulty.",
    "Bladder and bowels are working normally and there is no faecal incontinence.",
    "She has been taking regular paracetamol and ibuprofen with some benefit.",
    "Physiotherapy was started three weeks ago and the home exercises are helping a little.",
    "Sleeps reasonably well, although turning over in bed is uncomfortable.",
    "Works night shifts as a care assistant and finds the lifting difficult.",
    "No history of cancer, and no fevers or sweats reported.",
    "Mother had breast cancer in her sixties and father has type 2 diabetes.",
    "On examination there is tenderness over L4 and L5 with reduced forward flexion.",
    "Straight leg raise is negative on both sides and power is five out of five throughout.",
    "Reflexes are present and symmetrical at the knees and ankles.",
    "Sensation is intact to light touch in all dermatomes tested.",
    "Discussed the natural history of mechanical back pain and the value of staying active.",
    "Safety-netted: return if weakness, numbness in the saddle area or retention develop.",
    "Advised to attend A&E urgently should bladder or bowel problems start.",
    "Had a similar episode of back pain in 2019 which settled with physiotherapy.",
    "Night pain last year during that episode, settled within a few weeks.",
    "Today reports that the pain is now waking her at night, which is new.",
    "Weight is stable at 68 kg according to the practice scales.",
    "Lost weight last winter while dieting, which was intentional.",
    "Mood is low because of the pain and time off work, but no thoughts of self-harm.",
    "Plan: continue analgesia, continue physiotherapy and review in four weeks.",
    "Fit note issued for two weeks with amended duties on return.",
    "If no better despite physiotherapy in six weeks, consider referral to the spinal clinic.",
    "Patient understands the plan and is happy with it.",
    "Query whether an MRI is needed; not indicated at present in the absence of red flags.",
    "Discussed sleep hygiene and a graded return to the gym.",
    "Blood pressure 128/78, pulse 72 and regular, temperature normal.",
    "Uses a hot water bottle at night and finds that it eases the stiffness.",
)


def note_text(index: int) -> str:
    sentences: list[str] = []
    words = 0
    position = index * 3
    while words < WORDS_PER_NOTE:
        sentence = POOL[position % len(POOL)]
        sentences.append(sentence)
        words += len(sentence.split())
        position += 1
    return "\n".join(sentences)


def clinical_note(patient_id: str, index: int, today: date) -> dict[str, Any]:
    when = datetime.combine(today - timedelta(days=index + 1), datetime.min.time(), UTC) + timedelta(hours=10)
    return {
        "resourceType": "DocumentReference", "id": f"bench-note-{index + 1}", "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}]},
        "category": [NOTE_CATEGORY], "subject": {"reference": f"Patient/{patient_id}"},
        "date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "content": [{"attachment": {"contentType": "text/plain",
                                    "data": base64.b64encode(note_text(index).encode()).decode()}}],
    }


def notes_body(spec: ServiceSpec, today: date | None = None) -> Body:
    """The typical body with NOTES clinical notes of about WORDS_PER_NOTE words in its clinicalNotes key."""
    day = today or datetime.now(UTC).date()
    base = typical_body(spec, day)
    key = next(k for k, item in spec.prefetch.items() if item.resource_type == "DocumentReference")
    notes = [clinical_note(base.patient_id, i, day) for i in range(NOTES)]
    prefetch = {**base.request["prefetch"], key: searchset(notes)}
    counts = {**base.counts, key: len(notes)}
    words = sum(len(note_text(i).split()) for i in range(NOTES))
    source = f"{base.source}; {NOTES} clinical notes, {words} words in all"
    return Body("notes", base.patient_id, source, counts, hook_request(base.patient_id, prefetch),
                [*base.resources, *notes])
