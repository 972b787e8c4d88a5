"""Measure a generated course without an LLM: `report.build_report`, laid out in `model`.

Nothing is imported here, so that reading a report (`summary`) does not load the detectors.
"""
