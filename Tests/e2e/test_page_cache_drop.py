"""`drop_from_page_cache` (Benchmarks/scripts/script_helpers.sh), which the benchmark runs on each gateway binary
before starting it: a file just written, its pages cached and dirty, leaves the page cache whole, so that the next
process that maps it reads it from disk. The file lies in the checkout, where the binaries the benchmark drops lie."""
import ctypes
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / "Benchmarks" / "scripts" / "script_helpers.sh"
PAGE = os.sysconf("SC_PAGE_SIZE")

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
PROT_READ, MAP_SHARED = 1, 1


def cached_pages(path):
    """How many of the file's pages are in the page cache (mincore over a mapping that touches none of them)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        address = libc.mmap(None, size, PROT_READ, MAP_SHARED, f.fileno(), 0)
        assert address not in (None, ctypes.c_void_p(-1).value), f"mmap failed: errno {ctypes.get_errno()}"
        try:
            vector = ctypes.create_string_buffer((size + PAGE - 1) // PAGE)
            assert libc.mincore(address, size, vector) == 0, f"mincore failed: errno {ctypes.get_errno()}"
            return sum(byte & 1 for byte in vector.raw)
        finally:
            libc.munmap(address, size)


def test_a_file_just_written_leaves_the_page_cache():
    filesystem = subprocess.run(["stat", "-f", "-c", "%T", str(ROOT)], capture_output=True, text=True).stdout.strip()
    if filesystem in ("tmpfs", "ramfs"):
        pytest.skip(f"the checkout is on {filesystem}, whose page cache is the file itself: nothing can be dropped")
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".page-cache-test-") as directory:
        binary = Path(directory) / "cerebras-gateway"
        binary.write_bytes(os.urandom(8 << 20))
        pages = (8 << 20) // PAGE
        # Written moments ago: cached, and not yet on disk.
        assert cached_pages(binary) > pages // 2

        subprocess.run(["bash", "-c", f'source "{HELPERS}" && drop_from_page_cache "$0"', str(binary)],
                       check=True, timeout=60)

        assert cached_pages(binary) == 0
        # Its bytes are all still there, read back from disk.
        assert binary.stat().st_size == 8 << 20
