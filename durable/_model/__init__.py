"""The data model: history events, failures, statuses, retry policies and the converter.

Pure values only: nothing here performs I/O or reads a clock.
"""
