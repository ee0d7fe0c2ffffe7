"""Clients: start, inspect and steer instances through a store."""
