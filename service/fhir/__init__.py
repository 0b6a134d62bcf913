"""The FHIR boundary: raw resource dicts in, light typed resources out (see :mod:`service.fhir.models`)."""
