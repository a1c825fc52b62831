"""Where each firm's data lives (SPEC §4): regions, region-pinned encrypted storage, export, offboarding, reports.

The public interface, by module:

- ``residency.regions``: the region registry (``get_region``, ``registry``) with
  each region's storage (local or S3, bucket pattern, endpoint) and key settings.
- ``residency.storage``: ``FirmStorage`` (a Django ``Storage``; also the default
  storage), ``client_files`` and ``retained_files``: every file encrypted under
  the current firm's keys and kept only in the firm's region.
- ``residency.provisioning.firm_provision``: a new firm's keys and bucket or
  directory (called by onboarding).
- ``residency.export.firm_export`` (``portico tenants export``; offboarding, which
  also deletes storage and keys, is ``tenants.lifecycle.offboarding``),
  ``residency.selectors.residency_report`` (``portico residency report``); the
  verbs are in ``tenants.cli``.
- ``residency.models.StoredObject``: each firm's inventory of stored objects, in
  the firm's schema, with the wrapped data key of each.

S3 is reached only through ``residency.s3`` (the only boto3 user here).
Errors are ``residency.errors.ResidencyError`` subclasses with one-line messages.
"""
