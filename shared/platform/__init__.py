"""What every process stands on: settings, database, broker, metrics, logs, health."""
