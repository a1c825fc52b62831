"""Operating a deployment: `portico doctor` (``doctor``) and backups that restore (``backup``, ``restore``)."""
