"""Card analytics for the CDS committee: the report of ``backpain-cds report`` and its chart."""
