"""The firm's tamper-evident audit log: who did what, when and from where.

Every part of Portico records through one call, ``core.audit.services.audit_record``.
Entries are append-only in the database and hash-chained (``chain.py``); the chain
head is anchored, signed, in the public schema (``anchors.py``); ``verify.py``
recomputes the chain; ``export.py`` writes CSV or JSON lines.
"""
