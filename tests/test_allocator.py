"""Large buffers (the 1 MiB pieces files stream in) are served from the reusable heap, not fresh mappings.

Checked in a fresh interpreter with glibc's own accounting (``mallinfo2``): a
mapping made for a buffer is given back to the kernel when it is freed, and the
next buffer faults its pages in again, which is what made a 1 MiB decryption
cost ten times its AES work (``bench.crypto_storage``).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes, json, sys
from core.allocator import keep_large_buffers

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
tuned = keep_large_buffers(int(sys.argv[1]))
before = libc.mallinfo2().hblkhd
buffer = bytearray(1 << 20)
mapped = libc.mallinfo2().hblkhd - before
del buffer
print(json.dumps({"tuned": tuned, "mapped": mapped, "kept_free": libc.mallinfo2().fordblks}))
"""

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is for glibc only")


def probe(keep_mib: int) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(keep_mib)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_with_the_tuning_a_1_mib_buffer_comes_from_the_heap_and_stays_there_once_freed() -> None:
    tuned = probe(64)
    assert tuned["tuned"]
    assert tuned["mapped"] == 0
    assert tuned["kept_free"] >= 1 << 20


def test_with_the_tuning_off_glibc_maps_the_buffer_afresh() -> None:
    default = probe(0)
    assert not default["tuned"]
    assert default["mapped"] >= 1 << 20
