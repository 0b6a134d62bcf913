"""Access to a CDS client's FHIR server: query templates, HTTP client, access policy."""
