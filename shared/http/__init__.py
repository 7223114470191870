"""HTTP conventions shared by both services."""
