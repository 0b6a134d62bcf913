"""Authentication of CDS clients (JWT, section K of CDS_HOOKS.md) and input limits (issue 5)."""
