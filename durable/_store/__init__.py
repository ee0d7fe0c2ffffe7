"""Stores: where instances, histories, inboxes and activity tasks live."""
