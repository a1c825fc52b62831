"""The server-rendered web UI: the client portal (/portal/) and the staff workspace (/staff/)."""
