"""What every benchmark records about the machine it ran on."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime


def host_facts() -> dict:
    """CPU model (and whether it is a virtual machine), cores, load at the start, Python, date."""
    cpu, virtual = "unknown", False
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and " hypervisor" in line:
                virtual = True
    return {
        "cpu": cpu + (" (virtual machine)" if virtual else ""),
        "cores": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
