// The peer of bench/http/run.sh: GET /api/v1/notifications/unread-count and
// GET /api/v1/products/:sku as `unity serve` answers them, served by fastify + pg on the same
// PostgreSQL tables. Each request does what Unity's does: parse the bearer token
// (uty_<tenant>_<id>_<secret>), look it up with its user's role, compare the SHA-256 of the
// secret in constant time, check it is not revoked or expired, then run the tenant's queries.
// One process per core (node's cluster), a pool of connections per process.
//   DATABASE_URL=postgresql://… PORT=8090 [PEER_WORKERS=N] node server.js
'use strict';
const cluster = require('node:cluster');
const crypto = require('node:crypto');
const os = require('node:os');

const workers = Number(process.env.PEER_WORKERS || os.availableParallelism());
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('online', () => {});
  let up = 0;
  cluster.on('message', (_w, m) => {
    if (m === 'listening' && ++up === workers) console.log(`peer listening on ${process.env.PORT}`);
  });
  process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); });
} else {
  serve();
}

function serve() {
  const { Pool } = require('pg');
  const fastify = require('fastify')({ logger: false });
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 16 });

  const unauthenticated = (reply) =>
    reply.code(401).header('WWW-Authenticate', 'Bearer')
      .send({ error: { code: 'unauthenticated', message: 'a valid bearer token is required' } });

  async function principal(request) {
    const m = /^Bearer uty_(\d+)_(\d+)_(.+)$/.exec(request.headers.authorization || '');
    if (!m) return null;
    const tenant = Number(m[1]);
    const { rows } = await pool.query(
      'SELECT t.secret_hash, t.expires_at, t.revoked_at, t.user_id, u.role FROM api_tokens t' +
      ' JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id' +
      ' WHERE t.id = $1 AND t.tenant_id = $2', [Number(m[2]), tenant]);
    if (rows.length !== 1) return null;
    const want = Buffer.from(rows[0].secret_hash, 'hex');
    const got = crypto.createHash('sha256').update(m[3]).digest();
    if (want.length !== got.length || !crypto.timingSafeEqual(want, got)) return null;
    if (rows[0].revoked_at) return null;
    if (rows[0].expires_at && new Date(rows[0].expires_at) <= new Date()) return null;
    return { tenant, user: rows[0].user_id, role: rows[0].role };
  }

  fastify.get('/api/v1/notifications/unread-count', async (request, reply) => {
    const who = await principal(request);
    if (!who) return unauthenticated(reply);
    const { rows } = await pool.query(
      "SELECT count(*) AS n FROM notifications WHERE tenant_id = $1 AND notifiable_type = 'user'" +
      ' AND notifiable_id = $2 AND read_at IS NULL', [who.tenant, who.user]);
    return { unread_count: Number(rows[0].n) };
  });

  fastify.get('/api/v1/products/:sku', async (request, reply) => {
    const who = await principal(request);
    if (!who) return unauthenticated(reply);
    const { rows } = await pool.query(
      'SELECT id, sku, name, price, cost, reorder_level, unit, deleted_at, created_at, updated_at' +
      ' FROM products WHERE tenant_id = $1 AND sku = $2 AND deleted_at IS NULL',
      [who.tenant, request.params.sku]);
    if (rows.length !== 1) {
      return reply.code(404).send({ error: { code: 'not_found', message: 'no such product' } });
    }
    const p = rows[0];
    const stock = await pool.query(
      'SELECT quantity_remaining FROM stock_batches WHERE tenant_id = $1 AND product_id = $2' +
      " AND quantity_remaining <> '0'", [who.tenant, p.id]);
    let onHand = 0;
    for (const r of stock.rows) onHand += Number(r.quantity_remaining);
    return { id: Number(p.id), sku: p.sku, name: p.name, price: String(p.price),
      cost: String(p.cost), reorder_level: String(p.reorder_level), unit: p.unit,
      on_hand: String(onHand), deleted_at: p.deleted_at, created_at: p.created_at,
      updated_at: p.updated_at };
  });

  fastify.listen({ host: '127.0.0.1', port: Number(process.env.PORT || 8090) }).then(() => {
    if (cluster.isWorker) process.send('listening');
    else console.log(`peer listening on ${process.env.PORT}`);
  });
}
