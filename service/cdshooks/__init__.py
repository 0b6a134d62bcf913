"""CDS Hooks 2.0 wire models and prefetch handling."""
