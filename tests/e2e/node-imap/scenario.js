// node-imap (npm "imap") against a running imapd, driven by
// tests/e2e/test_clients.py (class NodeImap).
//
//   node scenario.js PORT CA_FILE
//
// Over implicit TLS (the certificate checked against CA_FILE) as alice: opens
// INBOX, searches, fetches every message's full body, TEXT, a header field
// section and BODYSTRUCTURE, adds and removes flags, moves one message to
// Archive and appends one to Sent. Prints one JSON object on stdout with what
// the client saw; the Python side compares it with what the server holds.
'use strict';

const fs = require('fs');
const Imap = require('imap');

const [port, caFile] = process.argv.slice(2);

const imap = new Imap({
  user: 'alice',
  password: 'secret',
  host: '127.0.0.1',
  port: Number(port),
  tls: true,
  tlsOptions: { ca: fs.readFileSync(caFile), servername: 'localhost' },
  connTimeout: 20000,
  authTimeout: 20000,
});

// node-imap's API is callbacks; each step is awaited in turn.
function call(method, ...args) {
  return new Promise((resolve, reject) => {
    imap[method](...args, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

// Every message of `source` (a sequence or UID set): attributes and the
// requested body sections, each as base64 so no byte is lost to JSON.
function fetchAll(source, bodies) {
  return new Promise((resolve, reject) => {
    const messages = {};
    const fetch = imap.fetch(source, { bodies, struct: true, size: true, markSeen: false });
    fetch.on('message', (msg) => {
      const sections = {};
      let attributes = null;
      msg.on('body', (stream, info) => {
        const chunks = [];
        stream.on('data', (chunk) => chunks.push(chunk));
        stream.once('end', () => {
          sections[info.which] = Buffer.concat(chunks).toString('base64');
        });
      });
      msg.once('attributes', (attrs) => {
        attributes = attrs;
      });
      msg.once('end', () => {
        messages[attributes.uid] = {
          flags: attributes.flags,
          date: attributes.date.toISOString(),
          size: attributes.size,
          struct: attributes.struct,
          sections,
        };
      });
    });
    fetch.once('error', reject);
    fetch.once('end', () => resolve(messages));
  });
}

async function main() {
  await new Promise((resolve, reject) => {
    imap.once('ready', resolve);
    imap.once('error', reject);
    imap.connect();
  });
  const result = {};
  const inbox = await call('openBox', 'INBOX', false);
  result.inbox = {
    uidvalidity: inbox.uidvalidity,
    uidnext: inbox.uidnext,
    total: inbox.messages.total,
    flags: inbox.flags,
    // node-imap splits PERMANENTFLAGS into these three.
    permFlags: inbox.permFlags,
    keywords: inbox.keywords,
    newKeywords: inbox.newKeywords,
  };
  result.search = {
    unseen: await call('search', ['UNSEEN']),
    subject: await call('search', [['SUBJECT', 'report']]),
    keyword: await call('search', [['KEYWORD', '$Label1']]),
    flaggedOrFrom: await call('search', [['OR', 'FLAGGED', ['FROM', 'carol@example.org']]]),
    since: await call('search', [['SINCE', new Date(Date.UTC(2024, 0, 1))]]),
  };
  result.fetched = await fetchAll('1:*', ['', 'TEXT', 'HEADER.FIELDS (SUBJECT FROM)']);

  const uids = Object.keys(result.fetched).map(Number).sort((a, b) => a - b);
  // node-imap's *Flags take system flags, *Keywords keywords.
  await call('addFlags', uids[0], ['\\Flagged']);
  await call('addKeywords', uids[0], ['$Label2']);
  await call('delFlags', uids[1], ['\\Seen']);
  await call('addKeywords', uids[2], ['NonJunk']);
  await call('move', uids[3], 'Archive');
  result.changed = { flagged: uids[0], unseen: uids[1], keyword: uids[2], moved: uids[3] };

  const appended = fs.readFileSync(0);  // the message to append, on stdin
  await call('append', appended, {
    mailbox: 'Sent',
    flags: ['Seen', '$Forwarded'],
    date: new Date(Date.UTC(2023, 4, 6, 7, 8, 9)),
  });
  await call('openBox', 'Archive', true);
  result.archive = await fetchAll('1:*', ['']);
  imap.end();
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + '\n');
  process.exit(1);
});
