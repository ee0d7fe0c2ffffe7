"""The worker: takes work from a store, runs episodes and activities, commits."""
