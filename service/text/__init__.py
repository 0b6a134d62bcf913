"""The clinical text step (CLINICAL_RULES.md Revision 2 item 30): what a note says, with its context.

medspaCy's ConText decides negation, uncertainty, hypothetical, another person and historical mentions; the
target phrases and the added ConText rules are data in ``cards/text``. The data layer turns resources into
:class:`~service.text.sources.TextFact` values; rules only read those.
"""

from service.text.pipeline import ClinicalText, Mention, load_clinical_text

__all__ = ["ClinicalText", "Mention", "load_clinical_text"]
