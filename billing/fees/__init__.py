"""Fee templates per service with billing codes, and time entries (SPEC §7).

``models`` holds ``FeeTemplate`` and ``TimeEntry``; ``services`` seeds each firm's
default templates and turns templates and time into invoice lines.
"""
