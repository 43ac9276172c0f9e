#!/usr/bin/env python3
"""A TCP proxy that adds network latency: every chunk is delayed DELAY ms
each way (so a round trip costs 2 x DELAY), pipelined — each chunk keeps its
own deadline, so this is a delay, not a throughput limit. Order is kept.

    bench/latency-proxy.py --delay-ms 25 --map 23001:22001 --map 23002:22002 ...
    bench/latency-proxy.py --delay-ms 25 --listen-base 23001 --target-base 22001 --count 50

Listens on 127.0.0.1:LISTEN and forwards to 127.0.0.1:TARGET for each pair.
Prints "ready" once every port listens; runs until killed. Used by
bench/run.py --latency-ms so that every tool meets the same network
(issue 14).
"""

import argparse
import socket
import asyncio
import sys

async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read():
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((loop.time() + delay, b""))

    async def write():
        try:
            while True:
                at, data = await queue.get()
                wait = at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    await asyncio.gather(read(), write())

async def serve(listen, target, delay):
    async def handle(c_reader, c_writer):
        try:
            s_reader, s_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            c_writer.close()
            return
        for sock in (c_writer, s_writer):
            raw = sock.get_extra_info("socket")
            if raw is not None:

                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(
            pump(c_reader, s_writer, delay), pump(s_reader, c_writer, delay)
        )
        for w in (c_writer, s_writer):
            w.close()

    return await asyncio.start_server(handle, "127.0.0.1", listen, backlog=1024)

async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay-ms", type=float, default=25.0)
    ap.add_argument("--map", action="append", default=[], help="LISTEN:TARGET")
    ap.add_argument("--listen-base", type=int)
    ap.add_argument("--target-base", type=int)
    ap.add_argument("--count", type=int, default=0)
    args = ap.parse_args()
    pairs = [tuple(int(x) for x in m.split(":")) for m in args.map]
    if args.count:
        pairs += [(args.listen_base + i, args.target_base + i) for i in range(args.count)]
    if not pairs:
        ap.error("nothing to proxy: --map or --listen-base/--target-base/--count")
    servers = [await serve(l, t, args.delay_ms / 1000.0) for l, t in pairs]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))

if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
