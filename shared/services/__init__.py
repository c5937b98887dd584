"""Use cases: plain functions over a session; they flush, the entry point commits."""
