"""Engines: integrate a compiled model for a set of patients and dosing events."""
