#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for TokenWatch's tests.

    smtp_sink.py DIR [--refuse-rcpt N] [--refuse-data N] [--auth USER:PASSWORD]
                     [--auth-echo] [--auth-mechanisms PLAIN,LOGIN]
                     [--delay-data-ms MS] [--exit-on-stdin-eof]

Listens on 127.0.0.1, on a port the kernel picks, and prints that port alone on the first
line of stdout. Every accepted message becomes two files in DIR, numbered from 1:
  NNNN.eml   the DATA bytes exactly as received (dot-stuffing undone, CRLF kept)
  NNNN.json  {"mail_from", "rcpt_tos", "helo", "auth_user", "mail_options"}
The .json is written last and atomically: once it exists, both files are complete.

Refusals, for "refuse then accept" tests: the next N RCPT (or DATA) commands are answered
"451 4.3.0 ..." — N from the arguments, plus whatever a DIR/control.json
{"refuse_rcpt": N, "refuse_data": N} adds (read and deleted before each RCPT and DATA).

--auth turns on AUTH PLAIN/LOGIN over the clear connection with one valid login.
--auth-echo turns on AUTH and refuses every login with a 535 that quotes the client's AUTH
blobs as sent (the base64 of PLAIN's "\0user\0password", or LOGIN's user and password):
a server that echoes secrets, which a client must never log or store.
--auth-mechanisms limits the mechanisms offered (comma-separated; default PLAIN,LOGIN).
--delay-data-ms makes a slow server: each accepted message is stored at once, then the final
250 to DATA waits MS milliseconds (other sessions go on meanwhile), so senders overlap.
DIR/sessions.json {"open", "peak", "held", "peak_held"} counts the SMTP sessions
(connections) open now and the most ever open at once, and the messages stored whose final
250 has not been sent yet (--delay-data-ms holds them; without it none is ever held and both
stay 0) now and at most at once. It is
rewritten atomically at every change: a session is counted when it opens (before the
greeting, so before any message on it), a message before its final reply.
--reject ADDRESS (repeatable) answers RCPT TO that address with "550 5.1.1 ...", for good:
a permanent refusal, which a client must not retry.
--exit-on-stdin-eof makes it stop when stdin closes, so it never outlives the test process.
"""

import argparse
import asyncio
import base64
import binascii
import json
import os
import signal
import sys

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, syntax


class Sink:
    def __init__(self, directory, refuse_rcpt, refuse_data, delay_data_ms=0, reject=()):
        self.directory = directory
        self.reject = {address.lower() for address in reject}
        self.delay_data = delay_data_ms / 1000.0
        self.refuse = {"rcpt": refuse_rcpt, "data": refuse_data}
        self.count = 0
        self.sessions = 0
        self.peak_sessions = 0
        self.held = 0
        self.peak_held = 0
        self._write_sessions()

    def _write_sessions(self):
        path = os.path.join(self.directory, "sessions.json")
        counts = {"open": self.sessions, "peak": self.peak_sessions, "held": self.held, "peak_held": self.peak_held}
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(counts, handle)
        os.replace(path + ".tmp", path)

    def session_opened(self):
        self.sessions += 1
        self.peak_sessions = max(self.peak_sessions, self.sessions)
        self._write_sessions()

    def session_closed(self):
        self.sessions -= 1
        self._write_sessions()

    def _read_control(self):
        path = os.path.join(self.directory, "control.json")
        try:
            with open(path, "r", encoding="utf-8") as handle:
                control = json.load(handle)
            os.remove(path)
        except (FileNotFoundError, ValueError):
            return
        self.refuse["rcpt"] += int(control.get("refuse_rcpt", 0))
        self.refuse["data"] += int(control.get("refuse_data", 0))

    def _refusing(self, what):
        self._read_control()
        if self.refuse[what] > 0:
            self.refuse[what] -= 1
            return True
        return False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 Mailbox does not exist (test sink)"
        if self._refusing("rcpt"):
            return "451 4.3.0 Recipient temporarily refused by the test sink"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self._refusing("data"):
            return "451 4.3.0 Message temporarily refused by the test sink"
        self.count += 1
        stem = os.path.join(self.directory, "%04d" % self.count)
        with open(stem + ".eml", "wb") as handle:
            handle.write(envelope.original_content or b"")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "helo": session.host_name,
            "auth_user": session.auth_data.login.decode("utf-8", "replace")
            if isinstance(session.auth_data, LoginPassword)
            else None,
        }
        with open(stem + ".json.tmp", "w", encoding="utf-8") as handle:
            json.dump(meta, handle)
        os.replace(stem + ".json.tmp", stem + ".json")
        number = self.count
        if self.delay_data > 0:
            # Without a delay a message is answered as soon as it is stored: none is ever
            # held while another session runs, and two rewrites of sessions.json per message
            # were a third of the sink's CPU in a 500-digest benchmark run.
            self.held += 1
            self.peak_held = max(self.peak_held, self.held)
            self._write_sessions()
            try:
                await asyncio.sleep(self.delay_data)
            finally:
                self.held -= 1
                self._write_sessions()
        return "250 2.0.0 OK: queued as %04d" % number


class EchoingSMTP(SMTP):
    """An SMTP session that keeps the client's AUTH blobs exactly as sent, for --auth-echo."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auth_blobs = []

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg):
        # An initial response ("AUTH PLAIN <blob>") is a blob too.
        self.auth_blobs = (arg or "").split()[1:]
        await super().smtp_AUTH(arg)

    async def challenge_auth(self, challenge, encode_to_b64=True, log_client_response=False):
        # aiosmtpd's own, but keeping the blob before decoding it.
        challenge = challenge.encode() if isinstance(challenge, str) else challenge
        await self.push(b"334 " + (base64.b64encode(challenge) if encode_to_b64 else challenge))
        blob = (await self._reader.readline()).strip()
        self.auth_blobs.append(blob.decode("ascii", "replace"))
        if blob == b"*":
            await self.push("501 5.7.0 Auth aborted")
            return MISSING
        try:
            return base64.b64decode(blob, validate=True)
        except binascii.Error:
            await self.push("501 5.5.2 Can't decode base64")
            return MISSING


def counting(session_class):
    """`session_class` telling the sink when each session (connection) opens and closes."""

    class Counting(session_class):
        counted = False

        def connection_made(self, transport):
            # Once per connection (STARTTLS would make it again on the same connection).
            if not self.counted:
                self.counted = True
                self.event_handler.session_opened()
            super().connection_made(transport)

        def connection_lost(self, error):
            try:
                super().connection_lost(error)
            finally:
                if self.counted:
                    self.event_handler.session_closed()

    return Counting


def echoing_authenticator(server, session, envelope, mechanism, auth_data):
    blobs = " ".join(getattr(server, "auth_blobs", []))
    return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication failed for " + blobs)


def make_authenticator(login):
    user, _, password = login.partition(":")

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode("utf-8", "replace") == user
            and auth_data.password.decode("utf-8", "replace") == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


async def main():
    parser = argparse.ArgumentParser(description="SMTP sink for TokenWatch tests")
    parser.add_argument("directory")
    parser.add_argument("--refuse-rcpt", type=int, default=0)
    parser.add_argument("--refuse-data", type=int, default=0)
    parser.add_argument("--auth", default=None, metavar="USER:PASSWORD")
    parser.add_argument("--auth-echo", action="store_true")
    parser.add_argument("--auth-mechanisms", default="PLAIN,LOGIN")
    parser.add_argument("--delay-data-ms", type=int, default=0)
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)

    sink = Sink(args.directory, args.refuse_rcpt, args.refuse_data, args.delay_data_ms, args.reject)
    options = {"decode_data": False, "hostname": "sink.test"}
    offered = {name.strip().upper() for name in args.auth_mechanisms.split(",") if name.strip()}
    if args.auth is not None or args.auth_echo:
        options.update(
            authenticator=echoing_authenticator if args.auth_echo else make_authenticator(args.auth),
            auth_require_tls=False,
            auth_exclude_mechanism=sorted({"CRAM-MD5", "PLAIN", "LOGIN"} - offered),
        )
    session = counting(EchoingSMTP if args.auth_echo else SMTP)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: session(sink, **options), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()

    stop = loop.create_future()

    def finish(*_):
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, finish)
    if args.exit_on_stdin_eof:

        def on_stdin():
            if not os.read(sys.stdin.fileno(), 4096):
                loop.remove_reader(sys.stdin.fileno())
                finish()

        loop.add_reader(sys.stdin.fileno(), on_stdin)

    await stop
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
