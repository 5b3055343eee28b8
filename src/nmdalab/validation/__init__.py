"""Validation: published data as cases, a runner and a scorecard (``nmdalab validate``)."""
