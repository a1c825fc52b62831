"""The server-rendered web UI: the client portal and the staff workspace."""
