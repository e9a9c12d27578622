"""Process memory readings shared by the memory benchmarks (Linux ``/proc``).

``rss`` is the current resident set size, ``hwm`` the kernel's high-water
mark ``VmHWM``, and ``reset_hwm`` resets that mark (``/proc/self/clear_refs``)
so that a later ``hwm`` is the peak of what ran in between.  All in bytes.
"""

import gc
import os
import resource


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def vm_kib(field):
    """A ``Vm*`` field of ``/proc/self/status`` in KiB (0 where absent)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def hwm():
    kib = vm_kib("VmHWM")
    return kib * 1024 if kib else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_hwm():
    """Reset ``VmHWM``; False where the kernel does not allow it."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
