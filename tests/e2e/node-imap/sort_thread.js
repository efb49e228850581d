// node-imap (npm "imap") issuing SORT and THREAD (RFC 5256) against a
// running imapd, driven by tests/e2e/test_clients.py (class
// NodeImapSortThread).
//
//   node sort_thread.js PORT CA_FILE
//
// Over implicit TLS as alice: opens INBOX, then sort() with several
// criteria (node-imap checks the SORT capability and writes
// "UID SORT (...) UTF-8 ..."), and thread() with REFERENCES and
// ORDEREDSUBJECT (it checks THREAD=<algorithm>). Prints the results as JSON.
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

function call(method, ...args) {
  return new Promise((resolve, reject) => {
    imap[method](...args, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

async function main() {
  await new Promise((resolve, reject) => {
    imap.once('ready', resolve);
    imap.once('error', reject);
    imap.connect();
  });
  await call('openBox', 'INBOX', true);
  const result = {
    date: await call('sort', ['DATE'], ['ALL']),
    reverseDate: await call('sort', ['-DATE'], ['ALL']),
    subjectDate: await call('sort', ['SUBJECT', 'DATE'], ['ALL']),
    from: await call('sort', ['FROM'], ['ALL']),
    unseenBySize: await call('sort', ['-SIZE'], ['UNSEEN']),
    references: await call('thread', 'REFERENCES', ['ALL']),
    orderedSubject: await call('thread', 'ORDEREDSUBJECT', ['ALL']),
  };
  imap.end();
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(String(error.stack || error) + '\n');
  process.exit(1);
});
