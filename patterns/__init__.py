"""durable.patterns: the pattern library (work in progress)."""

__all__: list[str] = []
