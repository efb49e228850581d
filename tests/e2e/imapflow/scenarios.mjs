// imapflow scenarios against a running imapd, driven by tests/e2e/test_imapflow.py.
//
//   node scenarios.mjs SCENARIO PORT [STATE_FILE]
//
// Prints one JSON object on stdout with what the client saw; the Python side
// makes the server-side changes between steps and checks the result.
//
// Scenarios:
//   push          IDLE in INBOX; a raw socket client APPENDs 20 messages one
//                 by one and stores a flag; records when each EXISTS and the
//                 FETCH FLAGS reached the idling client (latency in ms).
//   snapshot      QRESYNC-enabled client: opens INBOX, writes a local cache
//                 {uidValidity, highestModseq, messages: {uid: flags}} to
//                 STATE_FILE, logs out (the device goes offline).
//   resync        reconnects with SELECT (QRESYNC (uidvalidity modseq)) from
//                 STATE_FILE, applies VANISHED and FETCH FLAGS events to the
//                 cache, fetches new UIDs, and prints what it received and
//                 the resulting cache.
//   objectids     RFC 8474: CREATE, SELECT, FETCH, SEARCH, MOVE and RENAME
//                 with imapflow's mailboxId, emailId and threadId.
//   utf8          RFC 6855: imapflow enables UTF8=ACCEPT when offered, then
//                 CREATEs, LISTs and opens a UTF-8 mailbox name, APPENDs a
//                 message with UTF-8 header fields (RFC 6532) and SEARCHes
//                 it by UTF-8 strings (no CHARSET once enabled).
import fs from 'node:fs';
import net from 'node:net';
import { ImapFlow } from 'imapflow';

const [scenario, portText, stateFile] = process.argv.slice(2);
const port = Number(portText);
const auth = { user: 'alice', pass: 'secret' };

function client(options = {}) {
    return new ImapFlow({
        host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth, logger: false,
        ...options,
    });
}

// A minimal raw IMAP client: sends a tagged command, resolves on its tagged reply.
function rawClient() {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = '';
    let waiting = null;
    let counter = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
        buffer += chunk;
        if (waiting && waiting.pattern.test(buffer)) {
            const done = waiting;
            waiting = null;
            const text = buffer;
            buffer = '';
            done.resolve(text);
        }
    });
    const until = (pattern) => new Promise((resolve) => {
        waiting = { pattern, resolve };
        socket.emit('data', '');
    });
    return {
        greeting: () => until(/\r\n$/),
        command: (text) => {
            const tag = `r${++counter}`;
            socket.write(`${tag} ${text}\r\n`);
            return until(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n$`));
        },
        close: () => socket.end(),
    };
}

function flagsOf(set) {
    return [...(set || [])].filter((f) => f !== '\\Recent').sort();
}

async function push() {
    const idler = client();
    await idler.connect();
    await idler.mailboxOpen('INBOX');
    const arrivals = [];
    const flagEvents = [];
    idler.on('exists', (data) => arrivals.push({ count: data.count, at: performance.now() }));
    idler.on('flags', (data) => flagEvents.push({ uid: data.uid, flags: flagsOf(data.flags), at: performance.now() }));
    // imapflow would enter IDLE by itself only after a while without
    // commands; start it now (the promise ends when IDLE does).
    idler.idle().catch(() => {});
    await new Promise((r) => setTimeout(r, 300));

    const writer = rawClient();
    await writer.greeting();
    await writer.command('LOGIN alice secret');
    const latencies = [];
    for (let i = 1; i <= 20; i++) {
        const message = `Subject: push ${i}\r\n\r\nbody ${i}\r\n`;
        const sent = performance.now();
        await writer.command(`APPEND INBOX {${message.length}+}\r\n${message}`);
        const deadline = sent + 5000;
        while (!arrivals.some((a) => a.count >= i) && performance.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1));
        }
        const arrival = arrivals.find((a) => a.count >= i);
        latencies.push(arrival ? arrival.at - sent : null);
    }
    await writer.command('SELECT INBOX');
    const stored = performance.now();
    await writer.command('STORE 3 +FLAGS (\\Flagged)');
    const deadline = stored + 5000;
    while (!flagEvents.length && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1));
    }
    await writer.command('LOGOUT');
    writer.close();
    await idler.logout();
    return {
        latencies,
        flagLatency: flagEvents.length ? flagEvents[0].at - stored : null,
        flagEvent: flagEvents[0] ? { uid: flagEvents[0].uid, flags: flagEvents[0].flags } : null,
        exists: arrivals.length ? arrivals[arrivals.length - 1].count : 0,
    };
}

async function snapshot() {
    const device = client({ qresync: true });
    await device.connect();
    const mailbox = await device.mailboxOpen('INBOX');
    const messages = {};
    for await (const message of device.fetch('1:*', { uid: true, flags: true })) {
        messages[message.uid] = flagsOf(message.flags);
    }
    const state = {
        uidValidity: String(mailbox.uidValidity),
        highestModseq: String(mailbox.highestModseq),
        messages,
        enabled: [...device.enabled],
    };
    fs.writeFileSync(stateFile, JSON.stringify(state));
    await device.logout();
    return state;
}

async function resync() {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    const device = client({ qresync: true });
    const vanished = [];
    const changed = {};
    device.on('expunge', (data) => {
        if (data.vanished) vanished.push(data.uid);
    });
    device.on('flags', (data) => {
        changed[data.uid] = flagsOf(data.flags);
    });
    await device.connect();
    const mailbox = await device.mailboxOpen('INBOX', {
        uidValidity: BigInt(state.uidValidity),
        changedSince: BigInt(state.highestModseq),
    });
    const cache = { ...state.messages };
    for (const uid of vanished) delete cache[uid];
    for (const [uid, flags] of Object.entries(changed)) cache[uid] = flags;
    // New messages: UIDs above the last one the cache knows.
    const known = Object.keys(state.messages).map(Number);
    const next = (known.length ? Math.max(...known) : 0) + 1;
    const arrived = [];
    for await (const message of device.fetch(`${next}:*`, { uid: true, flags: true }, { uid: true })) {
        if (message.uid >= next) {
            cache[message.uid] = flagsOf(message.flags);
            arrived.push(message.uid);
        }
    }
    await device.logout();
    return {
        uidValidity: String(mailbox.uidValidity),
        highestModseq: String(mailbox.highestModseq),
        vanished: vanished.sort((a, b) => a - b),
        changed,
        arrived,
        cache,
    };
}

// RFC 8474 OBJECTID as imapflow uses it: the mailboxId of CREATE and of
// SELECT, the emailId and threadId of FETCH, and SEARCH by them, across a
// MOVE and a RENAME (the client's cache keys).
async function objectids() {
    const device = client();
    await device.connect();
    const created = await device.mailboxCreate('Kept');
    const before = await device.mailboxOpen('INBOX');
    const messages = [];
    for await (const message of device.fetch('1:*', { uid: true, emailId: true, threadId: true })) {
        messages.push({ uid: message.uid, emailId: message.emailId, threadId: message.threadId });
    }
    const byEmail = await device.search({ emailId: messages[0].emailId }, { uid: true });
    const byThread = await device.search({ threadId: messages[0].threadId }, { uid: true });
    await device.messageMove(String(messages[0].uid), 'Kept', { uid: true });
    await device.mailboxRename('Kept', 'Renamed');
    const moved = await device.mailboxOpen('Renamed');
    const after = [];
    for await (const message of device.fetch('1:*', { uid: true, emailId: true, threadId: true })) {
        after.push({ uid: message.uid, emailId: message.emailId, threadId: message.threadId });
    }
    await device.logout();
    return {
        createdId: created.mailboxId ?? null,
        renamedId: moved.mailboxId ?? null,
        inboxId: before.mailboxId ?? null,
        messages,
        byEmail,
        byThread,
        after,
    };
}

// RFC 6855 as imapflow uses it (UTF-8 names and strings once enabled).
async function utf8() {
    const device = client();
    await device.connect();
    const enabled = [...device.enabled];
    const name = 'Entw\u00fcrfe';
    await device.mailboxCreate(name);
    const listed = (await device.list()).map((box) => box.path).filter((path) => path.startsWith('Entw'));
    const message = [
        'From: J\u00f6rg <j\u00f6rg@b\u00fccher.example>',
        'To: \u535a\u58eb <\u535a\u58eb@example.org>',
        'Subject: Gr\u00fc\u00dfe',
        'Message-ID: <flow@b\u00fccher.example>',
        '',
        'Gr\u00fc\u00dfe aus M\u00fcnchen.',
        '',
    ].join('\r\n');
    const appended = await device.append(name, Buffer.from(message, 'utf8'), ['\\Seen']);
    const opened = await device.mailboxOpen(name);
    const bySubject = await device.search({ subject: 'Gr\u00fc\u00dfe' }, { uid: true });
    const byFrom = await device.search({ from: 'j\u00f6rg@b\u00fccher' }, { uid: true });
    const byTo = await device.search({ to: '\u535a\u58eb' }, { uid: true });
    const none = await device.search({ subject: 'Gr\u00fc\u00dfe nicht' }, { uid: true });
    const envelope = (await device.fetchOne('1', { envelope: true })).envelope;
    await device.logout();
    return {
        enabled,
        listed,
        appendedUid: appended.uid ?? null,
        openedPath: opened.path,
        exists: opened.exists,
        bySubject,
        byFrom,
        byTo,
        none,
        subject: envelope.subject,
        from: envelope.from,
        to: envelope.to,
    };
}

const scenarios = { push, snapshot, resync, objectids, utf8 };
if (!scenarios[scenario]) {
    console.error(`unknown scenario ${scenario}`);
    process.exit(2);
}
scenarios[scenario]()
    .then((result) => {
        process.stdout.write(JSON.stringify(result) + '\n');
        process.exit(0);
    })
    .catch((error) => {
        console.error(error && error.stack ? error.stack : error);
        if (error && error.response) console.error('server said:', error.response);
        process.exit(1);
    });
