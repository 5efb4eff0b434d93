"""A minimal Cerebras-like upstream over TLS that speaks HTTP/2 to a client offering it in the handshake (ALPN "h2")
and HTTP/1.1 to one that does not, for the tests of how the gateway uses its upstream connections.

POST /v1/chat/completions answers 200 at once, then holds the stream for `HOLD_MS` before sending `TOKENS` content
chunks ("tok0 ", "tok1 ", …), a finish chunk, a usage chunk and `[DONE]` (as DATA frames, or as HTTP/1.1 chunks), as
Cerebras streams: the hold keeps the streams of a burst open together. After every change it rewrites the JSON file
`STATS` with the TCP connections it has accepted (in all, by protocol, and how many resumed an earlier TLS session
rather than making a full handshake), the most streams it has had open at once,
the streams it answered in full, and the streams the client gave up (reset, or on a connection it closed) before
their end, counted when that happens. The certificate is the self-signed test certificate of tls_upstream.py, trusted
by the gateway only with UPSTREAM_VERIFY_TLS=false.

    python3 h2_upstream.py TOKENS HOLD_MS STATS      prints "LISTENING <port>" once it serves
"""
import asyncio
import json
import os
import ssl
import sys
from pathlib import Path

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Stats:
    def __init__(self, path):
        self.path = path
        self.connections = 0
        self.protocols = {}  # connections by protocol: "h2", "http/1.1"
        self.resumed = 0  # connections whose TLS handshake resumed a session
        self.open_streams = 0
        self.peak_streams = 0
        self.completed = 0
        self.abandoned = 0

    def write(self):
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            json.dump({"connections": self.connections, "protocols": self.protocols, "resumed": self.resumed,
                       "peak_streams": self.peak_streams,
                       "completed": self.completed, "abandoned": self.abandoned}, handle)
        os.replace(temporary, self.path)


def answer_events(tokens, model):
    """The SSE events of an answer of `tokens` tokens, as Cerebras streams them."""
    base = {"id": "chatcmpl-h2", "object": "chat.completion.chunk", "created": 1, "model": model}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{**base, "choices": [{"index": 0, "delta": {"content": f"tok{i} "}}]} for i in range(tokens)]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens}
    events.append({**base, "choices": [], "usage": usage})
    return [f"data: {json.dumps(event)}\n\n".encode() for event in events] + [b"data: [DONE]\n\n"]


class Upstream(asyncio.Protocol):
    """One accepted connection, spoken to in the protocol its TLS handshake chose."""

    def __init__(self, stats, tokens, hold):
        self.stats, self.tokens, self.hold = stats, tokens, hold
        self.answering = set()  # streams whose answer is under way
        self.given_up = set()  # streams the client reset, or all of them once the connection is lost

    def connection_made(self, transport):
        self.transport = transport
        tls = transport.get_extra_info("ssl_object")
        protocol = tls.selected_alpn_protocol() or "http/1.1"
        self.stats.connections += 1
        self.stats.resumed += 1 if tls.session_reused else 0
        self.stats.protocols[protocol] = self.stats.protocols.get(protocol, 0) + 1
        self.stats.write()
        self.speaker = HTTP2(self) if protocol == "h2" else HTTP1(self)

    def data_received(self, data):
        self.speaker.received(data)

    def connection_lost(self, error):
        self.give_up(set(self.answering))

    def give_up(self, streams):
        newly = (streams & self.answering) - self.given_up
        self.given_up |= streams
        if newly:
            self.stats.abandoned += len(newly)
            self.stats.write()

    async def answer(self, stream_id, body):
        self.stats.open_streams += 1
        self.answering.add(stream_id)
        self.stats.peak_streams = max(self.stats.peak_streams, self.stats.open_streams)
        self.stats.write()
        try:
            self.speaker.send_head(stream_id)
            await asyncio.sleep(self.hold)
            if stream_id in self.given_up:
                return
            self.speaker.send_body(stream_id, answer_events(self.tokens, body["model"]))
            self.stats.completed += 1
        except Exception:  # the client reset the stream or left: nothing more to send
            pass
        finally:
            self.answering.discard(stream_id)
            self.stats.open_streams -= 1
            self.stats.write()


class HTTP2:
    """A connection's HTTP/2 side: streams answered concurrently."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.h2 = H2Connection(config=H2Configuration(client_side=False, header_encoding="utf-8"))
        self.bodies = {}
        self.h2.initiate_connection()
        self.flush()

    def received(self, data):
        for event in self.h2.receive_data(data):
            if isinstance(event, RequestReceived):
                self.bodies[event.stream_id] = b""
            elif isinstance(event, DataReceived):
                self.bodies[event.stream_id] += event.data
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                body = json.loads(self.bodies.pop(event.stream_id))
                asyncio.ensure_future(self.upstream.answer(event.stream_id, body))
            elif isinstance(event, StreamReset):
                self.bodies.pop(event.stream_id, None)
                self.upstream.give_up({event.stream_id})
            elif isinstance(event, ConnectionTerminated):
                self.upstream.transport.close()
        self.flush()

    def send_head(self, stream_id):
        self.h2.send_headers(stream_id, [(":status", "200"), ("content-type", "text/event-stream")])
        self.flush()

    def send_body(self, stream_id, events):
        for event in events:
            self.h2.send_data(stream_id, event)
        self.h2.end_stream(stream_id)
        self.flush()

    def flush(self):
        outgoing = self.h2.data_to_send()
        if outgoing:
            self.upstream.transport.write(outgoing)


class HTTP1:
    """A connection's HTTP/1.1 side: one request at a time, each answer a chunked SSE stream."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.buffer = b""
        self.requests = 0

    def received(self, data):
        self.buffer += data
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:head_end].decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body_end = head_end + 4 + length
            if len(self.buffer) < body_end:
                return
            body = json.loads(self.buffer[head_end + 4:body_end])
            self.buffer = self.buffer[body_end:]
            self.requests += 1
            asyncio.ensure_future(self.upstream.answer(self.requests, body))

    def send_head(self, stream_id):
        self.upstream.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                      b"transfer-encoding: chunked\r\n\r\n")

    def send_body(self, stream_id, events):
        for event in events:
            self.upstream.transport.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.upstream.transport.write(b"0\r\n\r\n")


async def main():
    tokens, hold, stats_path = int(sys.argv[1]), int(sys.argv[2]) / 1000, sys.argv[3]
    stats = Stats(stats_path)
    stats.write()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(FIXTURES / "tls-test-cert.pem", FIXTURES / "tls-test-key.pem")
    context.set_alpn_protocols(["h2", "http/1.1"])
    server = await asyncio.get_running_loop().create_server(
        lambda: Upstream(stats, tokens, hold), "127.0.0.1", 0, ssl=context)
    print("LISTENING", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
