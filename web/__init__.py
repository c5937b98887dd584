"""The HTTP API: a thin Flask app; every rule lives in shared/."""
