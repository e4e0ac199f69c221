"""The notes API: GET /api/notes lists the notes, POST /api/notes adds one (the body is its text),
GET /api/healthz answers once the store does. Notes live in redis (host STORE_HOST)."""
import json
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

store = redis.Redis(host=os.environ.get("STORE_HOST", "store"), port=6379, socket_timeout=2)
greeting = os.environ.get("GREETING", "Hello")


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/api/healthz":
            try:
                store.ping()
                self.reply(200, {"status": "ok"})
            except redis.RedisError as err:
                self.reply(503, {"status": "store unavailable", "error": str(err)})
        elif self.path == "/api/notes":
            notes = [n.decode() for n in store.lrange("notes", 0, -1)]
            self.reply(200, {"greeting": greeting, "served_by": socket.gethostname(), "notes": notes})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/api/notes":
            return self.reply(404, {"error": "not found"})
        text = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode().strip()
        if not text:
            return self.reply(400, {"error": "empty note"})
        store.rpush("notes", text)
        self.reply(201, {"added": text})

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))


server = ThreadingHTTPServer(("0.0.0.0", 8000), Handler)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"notes api listening on :8000, store at {store.connection_pool.connection_kwargs['host']}")
server.serve_forever()
