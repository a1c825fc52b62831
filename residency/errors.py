"""What can go wrong with where data lives; every message is one line an operator can act on."""

from __future__ import annotations


class ResidencyError(Exception):
    """Base class."""


class CrossRegionError(ResidencyError):
    """A firm's data was about to be read or written outside the firm's region: refused."""


class StorageUnavailable(ResidencyError):
    """The storage service (S3) could not be reached or refused the request; nothing was half-written."""


class StorageMisconfigured(ResidencyError):
    """Stored objects and the configuration disagree (e.g. a firm's files are in S3, its region says local)."""
