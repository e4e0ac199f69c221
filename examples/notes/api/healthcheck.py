import sys
import urllib.request

try:
    with urllib.request.urlopen("http://localhost:8000/api/healthz", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception as err:  # any failure is "unhealthy"
    print(err)
    sys.exit(1)
