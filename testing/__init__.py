"""durable.testing: the simulation harness (work in progress)."""

__all__: list[str] = []
