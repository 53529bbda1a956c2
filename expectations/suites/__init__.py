"""Expectation suites as code: one module per table, each exposing ``TABLE`` and ``expectations()``."""
