"""A minimal Cerebras-like upstream over HTTPS, for the tests of the gateway's TLS upstream path.

POST /v1/chat/completions answers with a chunked SSE stream of `TOKENS` content chunks ("tok0 ", "tok1 ", …), a
finish chunk, a usage chunk and `[DONE]`, as Cerebras streams. The certificate is a self-signed test certificate
for 127.0.0.1 (Tests/e2e/fixtures), so the gateway trusts it only with UPSTREAM_VERIFY_TLS=false.

    python3 tls_upstream.py TOKENS      prints "LISTENING <port>" once it serves
"""
import http.server
import json
import ssl
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tokens = 200

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        base = {"id": "chatcmpl-tls", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
        self.event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for index in range(self.tokens):
            self.event({**base, "choices": [{"index": 0, "delta": {"content": f"tok{index} "}}]})
        self.event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        usage = {"prompt_tokens": 5, "completion_tokens": self.tokens, "total_tokens": 5 + self.tokens}
        self.event({**base, "choices": [], "usage": usage})
        self.event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def event(self, payload):
        data = ("data: " + (payload if isinstance(payload, str) else json.dumps(payload)) + "\n\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def main():
    Handler.tokens = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(FIXTURES / "tls-test-cert.pem", FIXTURES / "tls-test-key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("LISTENING", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
