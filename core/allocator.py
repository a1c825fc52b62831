"""Keep large freed buffers in the process instead of handing them back to the kernel at once.

Streaming files moves 1 MiB buffers: the storage backend reads one, Tink
decrypts into another, the response or the sink takes a third, and all are
freed a moment later. glibc's defaults serve such sizes with fresh ``mmap``
calls (or trim the heap's top as soon as it is free), so every buffer costs
256 page faults and zeroing, which made decrypting a 1 MiB file cost ten
times what the AES work does (``bench.crypto_storage``). With a fixed mmap
threshold and a higher trim threshold the same pages are reused.

``PORTICO_MALLOC_KEEP_MIB`` (default 64) bounds what a process may keep; 0
leaves glibc's defaults alone. Only glibc is tuned: elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
from functools import cache

logger = logging.getLogger(__name__)

MIB = 1 << 20
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * MIB  # glibc's own ceiling for the threshold (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)


@cache
def keep_large_buffers(keep_mib: int) -> bool:
    """Tune glibc once per process; True when it was tuned."""
    if keep_mib <= 0 or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mmap_threshold = min(MMAP_THRESHOLD, keep_mib * MIB)
    mmap_set: int = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)  # ctypes calls are untyped
    done = mmap_set == 1 and libc.mallopt(_M_TRIM_THRESHOLD, keep_mib * MIB) == 1
    if not done:
        logger.warning("mallopt refused the buffer settings; glibc's defaults stay")
    return done
