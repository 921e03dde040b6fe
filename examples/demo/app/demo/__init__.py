"""The demo app: notes in PostgreSQL, jobs through Redis."""
