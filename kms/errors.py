"""What can go wrong with keys and ciphertext, as exceptions an operator can act on.

Every message is one line and names the firm, key class and object where one is
involved, but never a plaintext value or a key.
"""

from __future__ import annotations


class KmsError(Exception):
    """Base class: a key or ciphertext problem."""


class KeyConfigurationError(KmsError):
    """The key provider is misconfigured or not allowed here (e.g. the local provider in production)."""


class KeyServiceUnavailable(KmsError):
    """The key service (AWS KMS) could not be reached or refused to answer; retry later."""


class KeyNotFound(KmsError):
    """The firm has no key of this class or version (never provisioned, or destroyed)."""


class KeyDestroyed(KeyNotFound):
    """The key existed but was destroyed (crypto-shredded) or scheduled for deletion."""


class DecryptionFailed(KmsError):
    """Ciphertext failed authentication: altered, truncated, or bound to another firm or object."""
