"""Analysis of results: endpoints (NCA-style exposure metrics, changes, rates)."""
