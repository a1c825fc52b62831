"""`portico`: the vendor CLI (console script ``tenants.cli:main``).

The root of the package: the only module that imports the verb modules, and
where they are put on the command line. Shared helpers (Django set-up, one-line
errors, exit codes 0/1/2, JSON output) are in ``tenants.cli.base``; each verb
group has its own module and calls the services of the packages below it.

    portico tenants create|list|show|suspend|resume|migrate|regions   tenants.cli.tenants
    portico tenants rotate-keys                                       tenants.cli.keys
    portico tenants export|offboard                                   tenants.cli.offboarding
    portico tenants erase-client                                      tenants.cli.erasure
    portico residency report                                          tenants.cli.residency
    portico audit verify|export|check-export|anchor|prune             tenants.cli.audit
    portico ledger verify                                             tenants.cli.ledger
    portico doctor                                                    tenants.cli.doctor
    portico backup | restore                                          tenants.cli.backup
    portico up                                                        tenants.cli.up
    portico manage …                                                  tenants.cli.manage
"""

from __future__ import annotations

from tenants.cli import audit, backup, doctor, erasure, keys, ledger, manage, offboarding, residency, tenants, up
from tenants.cli.base import main, tenants_group

for command in (
    tenants.tenants_create,
    tenants.tenants_list,
    tenants.tenants_show,
    tenants.tenants_suspend,
    tenants.tenants_resume,
    tenants.tenants_migrate,
    tenants.tenants_regions,
    keys.rotate_keys,
    offboarding.export,
    offboarding.offboard,
    erasure.erase_client,
):
    tenants_group.add_command(command)
main.add_command(residency.residency)
main.add_command(audit.audit)
main.add_command(ledger.ledger)
main.add_command(doctor.doctor)
main.add_command(backup.backup)
main.add_command(backup.restore)
main.add_command(up.up)
main.add_command(manage.manage)

__all__ = ["main"]
