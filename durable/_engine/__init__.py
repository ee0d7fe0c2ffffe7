"""The replay engine: history + orchestrator code -> decisions. Pure: no I/O, no clock."""
