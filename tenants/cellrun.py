"""``python -m tenants.cellrun``: one step of a cross-cell operation, in a process of the target cell.

Reads ``{"operation": ..., "arguments": {...}}`` on stdin; prints ``{"result": ...}``
or ``{"error": ..., "kind": "input"|"failure"}`` as its last line (exit 0 or 1).
Started by ``tenants.onboarding.cell_run`` with the cell's ``PORTICO_CELL`` and ``DATABASE_URL``.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django

    django.setup()
    from tenants.onboarding import run_operation
    from tenants.services import TenantError, TenantInputError

    request = json.loads(sys.stdin.read())
    try:
        result = run_operation(request["operation"], request.get("arguments", {}))
    except TenantInputError as exc:
        print(json.dumps({"error": str(exc), "kind": "input"}))
        return 1
    except TenantError as exc:
        print(json.dumps({"error": str(exc), "kind": "failure"}))
        return 1
    except Exception as exc:
        from core.scrubbing import scrub_text

        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        message = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        print(json.dumps({"error": scrub_text(message), "kind": "failure"}))
        return 1
    print(json.dumps({"result": result}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
