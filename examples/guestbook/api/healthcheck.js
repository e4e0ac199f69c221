'use strict';
// Exit 0 when the API answers its health endpoint.
fetch(`http://localhost:${process.env.PORT || 3000}/api/healthz`, { signal: AbortSignal.timeout(2000) })
  .then((r) => process.exit(r.ok ? 0 : 1))
  .catch((err) => {
    console.log(err.message);
    process.exit(1);
  });
