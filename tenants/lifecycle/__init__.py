"""A firm's lifecycle after onboarding, orchestrated from the control plane (SPEC §3, §4).

Each module calls the services of the packages below it and is called by the
vendor CLI (``tenants.cli``):

- ``tenants.lifecycle.rotation``: ``firm_rotate_keys`` / ``firm_rewrap`` (kms keys,
  residency's inventory of stored files; ``portico tenants rotate-keys``);
- ``tenants.lifecycle.offboarding``: ``firm_offboard`` (``residency.export``,
  the firm's storage, kms keys, the schema; ``portico tenants offboard``);
- ``tenants.lifecycle.erasure``: ``client_erase`` / ``client_erasure_plan``
  (core's personal data, refused while billing holds the client's money;
  ``portico tenants erase-client``).

The export itself (``residency.export.firm_export``, ``portico tenants export``)
is residency's service: it reads every row and file where the firm's data lives.
"""
