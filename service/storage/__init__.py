"""Persistent state: feedback (and, for multi-replica deployments, shared caches)."""
