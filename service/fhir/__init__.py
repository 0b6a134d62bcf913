"""The FHIR boundary: raw resource dicts in, light typed resources out (see :mod:`service.fhir.models`);
and access to the CDS client's FHIR server (query templates, HTTP client, access policy).
"""
