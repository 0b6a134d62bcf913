"""Back-pain red-flag CDS: a CDS Hooks 2.0 service for the patient-view hook."""

__version__ = "0.1.0"
