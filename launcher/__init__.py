"""The `routines` command; the one place allowed to compose web, workers and scheduler."""
