"""Start the real distributed processes on local PostgreSQL and Redis, and talk to their
API; shared by tests/ and bench/."""
