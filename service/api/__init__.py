"""HTTP layer: endpoints, dependencies and the mapping of errors to statuses."""
