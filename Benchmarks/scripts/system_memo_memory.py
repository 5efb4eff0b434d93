#!/usr/bin/env python3
"""What a remembered system prompt costs a worker in memory.

    Benchmarks/scripts/system_memo_memory.py [BIN_DIR]      BIN_DIR default .build-bench/release

One standalone worker (`cerebras-gateway worker --standalone`) in front of the fake upstream, with the system prompt
memo on (SYSTEM_MEMO_ENTRIES=16) and then off (0), is sent Claude Code's request (Tests/Fixtures/claude-code-request)
40 times with two alternating prompts to settle its memory, then 16 times with 16 new prompts (the fixture's, each
with another first line). Printed: the worker's RSS growth over those 16 requests, per prompt. Tools and messages are
the same in every request, so the other memos hold nothing new. The worker and the measurement are those of
`conversation_memo.py`.
"""
import os

from conversation_memo import BIN, memory_per_request, start, stop

PROMPTS = 16


def another_prompt(body, number):
    body["system"][-1]["text"] = f"prompt {number}: " + body["system"][-1]["text"]


def main():
    fake, fake_port = start([os.path.join(BIN, "fake-cerebras"), "--port", "0", "--host", "127.0.0.1", "--threads", "1"])
    try:
        for entries in (16, 0):
            growth = memory_per_request(os.path.join(BIN, "cerebras-gateway"), fake_port, 32, another_prompt, PROMPTS,
                                        settle=40, SYSTEM_MEMO_ENTRIES=str(entries))
            print(f"SYSTEM_MEMO_ENTRIES={entries}: {growth:.1f} KiB of RSS per new system prompt ({PROMPTS} prompts)",
                  flush=True)
    finally:
        stop(fake)


if __name__ == "__main__":
    main()
