"""Shared helpers for the partner-ingestion tests, and the bad-input corpus (``bad/``)."""
