// The guestbook API: GET /api/entries, POST /api/entries ({"name": "...", "message": "..."}),
// GET /api/healthz (answers once the database does). Entries live in PostgreSQL (host DB_HOST).
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const { Pool } = require('pg');

const pool = new Pool({
  host: process.env.DB_HOST || 'db',
  user: 'guestbook',
  database: 'guestbook',
  password: fs.readFileSync('/run/secrets/db_password', 'utf8').trim(),
  connectionTimeoutMillis: 2000,
});

let ready = false;
async function migrate() {
  for (;;) {
    try {
      await pool.query('CREATE TABLE IF NOT EXISTS entries (id serial PRIMARY KEY, name text NOT NULL, message text NOT NULL, at timestamptz DEFAULT now())');
      ready = true;
      console.log('guestbook api: database ready');
      return;
    } catch (err) {
      console.log(`guestbook api: waiting for the database: ${err.message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function reply(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.url === '/api/healthz') {
      if (!ready) return reply(res, 503, { status: 'starting' });
      await pool.query('SELECT 1');
      return reply(res, 200, { status: 'ok' });
    }
    if (req.url === '/api/entries' && req.method === 'GET') {
      const { rows } = await pool.query('SELECT name, message, at FROM entries ORDER BY id DESC LIMIT 50');
      return reply(res, 200, { served_by: os.hostname(), entries: rows });
    }
    if (req.url === '/api/entries' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const { name, message } = JSON.parse(body || '{}');
      if (!name || !message) return reply(res, 400, { error: 'name and message are required' });
      await pool.query('INSERT INTO entries (name, message) VALUES ($1, $2)', [String(name), String(message)]);
      return reply(res, 201, { added: { name, message } });
    }
    reply(res, 404, { error: 'not found' });
  } catch (err) {
    reply(res, 500, { error: err.message });
  }
});

process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
server.listen(Number(process.env.PORT || 3000), () => console.log(`guestbook api listening on :${process.env.PORT || 3000}`));
migrate();
