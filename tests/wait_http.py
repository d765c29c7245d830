"""Wait until a URL answers 200 (used by the Makefile before testing against `chroma run`)."""

import sys
import time
import urllib.request

url, timeout = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
deadline = time.time() + timeout
while time.time() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(f"{url} did not answer within {timeout:.0f} s")
