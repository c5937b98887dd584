"""Where work lands: projects, goals and issues."""
