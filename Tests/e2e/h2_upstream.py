"""A minimal Cerebras-like upstream that speaks HTTP/2 over TLS (ALPN "h2" only), for the tests of how the gateway
shares upstream connections.

POST /v1/chat/completions answers 200 at once, then holds the stream for `HOLD_MS` before sending `TOKENS` content
chunks ("tok0 ", "tok1 ", …), a finish chunk, a usage chunk and `[DONE]` as DATA frames, as Cerebras streams: the hold
keeps the streams of a burst open together. After every change it rewrites the JSON file `STATS` with the TCP
connections it has accepted, the most streams it has had open at once, the streams it answered in full, and the
streams the client gave up (reset, or on a connection it closed) before their end, counted when that happens. The certificate is the self-signed test
certificate of tls_upstream.py, trusted by the gateway only with UPSTREAM_VERIFY_TLS=false.

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
        self.open_streams = 0
        self.peak_streams = 0
        self.completed = 0
        self.abandoned = 0

    def write(self):
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            json.dump({"connections": self.connections, "peak_streams": self.peak_streams,
                       "completed": self.completed, "abandoned": self.abandoned}, handle)
        os.replace(temporary, self.path)


class Upstream(asyncio.Protocol):
    def __init__(self, stats, tokens, hold):
        self.stats, self.tokens, self.hold = stats, tokens, hold
        self.h2 = H2Connection(config=H2Configuration(client_side=False, header_encoding="utf-8"))
        self.bodies = {}
        self.answering = set()  # streams whose answer is under way
        self.given_up = set()  # streams the client reset, or all of them once the connection is lost

    def connection_made(self, transport):
        self.transport = transport
        self.stats.connections += 1
        self.stats.write()
        self.h2.initiate_connection()
        self.flush()

    def data_received(self, data):
        for event in self.h2.receive_data(data):
            if isinstance(event, RequestReceived):
                self.bodies[event.stream_id] = b""
            elif isinstance(event, DataReceived):
                self.bodies[event.stream_id] += event.data
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                asyncio.ensure_future(self.answer(event.stream_id, json.loads(self.bodies.pop(event.stream_id))))
            elif isinstance(event, StreamReset):
                self.bodies.pop(event.stream_id, None)
                self.give_up({event.stream_id})
            elif isinstance(event, ConnectionTerminated):
                self.transport.close()
        self.flush()

    def connection_lost(self, error):
        self.give_up(set(self.answering))

    def give_up(self, streams):
        newly = (streams & self.answering) - self.given_up
        self.given_up |= streams
        if newly:
            self.stats.abandoned += len(newly)
            self.stats.write()

    def flush(self):
        outgoing = self.h2.data_to_send()
        if outgoing:
            self.transport.write(outgoing)

    async def answer(self, stream_id, body):
        self.stats.open_streams += 1
        self.answering.add(stream_id)
        self.stats.peak_streams = max(self.stats.peak_streams, self.stats.open_streams)
        self.stats.write()
        try:
            self.h2.send_headers(stream_id, [(":status", "200"), ("content-type", "text/event-stream")])
            self.flush()
            await asyncio.sleep(self.hold)
            if stream_id in self.given_up:
                return
            base = {"id": "chatcmpl-h2", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
            events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
            events += [{**base, "choices": [{"index": 0, "delta": {"content": f"tok{i} "}}]} for i in range(self.tokens)]
            events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            usage = {"prompt_tokens": 5, "completion_tokens": self.tokens, "total_tokens": 5 + self.tokens}
            events.append({**base, "choices": [], "usage": usage})
            for event in events + ["[DONE]"]:
                text = event if isinstance(event, str) else json.dumps(event)
                self.h2.send_data(stream_id, f"data: {text}\n\n".encode())
            self.h2.end_stream(stream_id)
            self.flush()
            self.stats.completed += 1
        except Exception:  # the client reset the stream or left: nothing more to send
            pass
        finally:
            self.answering.discard(stream_id)
            self.stats.open_streams -= 1
            self.stats.write()


async def main():
    tokens, hold, stats_path = int(sys.argv[1]), int(sys.argv[2]) / 1000, sys.argv[3]
    stats = Stats(stats_path)
    stats.write()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(FIXTURES / "tls-test-cert.pem", FIXTURES / "tls-test-key.pem")
    context.set_alpn_protocols(["h2"])
    server = await asyncio.get_running_loop().create_server(
        lambda: Upstream(stats, tokens, hold), "127.0.0.1", 0, ssl=context)
    print("LISTENING", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
