#!/usr/bin/env python3
"""Slow syncing clients for scripts/bench-slow-clients and bench-pairs.

  slow_clients.py download PORT PATH CLIENTS RATE_BYTES_PER_S [--first-address 127.0.1.1]
      each client, from its own address, GETs PATH once and reads it at RATE,
      paced from its first byte (so a wait in a queue is not caught up later),
      through a small receive buffer; prints one JSON line per client and a
      summary line.
  slow_clients.py pairs PORT CLIENTS RATE SECONDS
      clients fetch a state and a block in the three orders (state first,
      block first, both at once), each from its own address, again and again
      for SECONDS; prints how many pairs were fetched and how many mismatched
      (X-Leanpoint-Slot differs), and the lag of first-time clients.
"""
import asyncio, ipaddress, json, socket, statistics, sys, time

RCVBUF = 16 * 1024


def address(first, i):
    return str(ipaddress.ip_address(first) + i)


async def get(port, path, source, rate, keep=False):
    """GET path from source; returns (status, headers, body_len, ttfb_s, total_s, body if keep)."""
    start = time.monotonic()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.bind((source, 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        buf = b""
        first = None
        total = 0
        head = None
        body = b""
        while True:
            if first is not None and rate:
                allowed = (time.monotonic() - first) * rate
                if total >= allowed:
                    await asyncio.sleep((total - allowed) / rate + 0.001)
            data = await loop.sock_recv(sock, RCVBUF)
            if not data:
                break
            if first is None:
                first = time.monotonic()
            total += len(data)
            if keep and head is not None:
                body += data
            if head is None:
                buf += data
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = buf[:end].decode("latin-1")
                    total = len(buf) - end - 4
                    if keep:
                        body = buf[end + 4:]
                    buf = b""
        if head is None:
            return (0, {}, 0, None, time.monotonic() - start, b"")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return (status, headers, total, first - start if first else None, time.monotonic() - start, body)
    except OSError:
        return (0, {}, 0, None, time.monotonic() - start, b"")
    finally:
        sock.close()


async def download(port, path, clients, rate, first_address):
    tasks = [get(port, path, address(first_address, i), rate) for i in range(clients)]
    results = await asyncio.gather(*tasks)
    ok = [r for r in results if r[0] == 200]
    codes = {}
    for r in results:
        codes[r[0]] = codes.get(r[0], 0) + 1
    sizes = {r[2] for r in ok}
    times = sorted(r[4] for r in ok)
    ttfb = sorted(r[3] for r in ok if r[3] is not None)
    summary = {
        "clients": clients, "completed": len(ok), "codes": codes, "sizes": sorted(sizes),
        "median_s": round(statistics.median(times), 2) if times else None,
        "worst_s": round(times[-1], 2) if times else None,
        "ttfb_worst_s": round(ttfb[-1], 3) if ttfb else None,
        "ttfb_median_s": round(statistics.median(ttfb), 3) if ttfb else None,
    }
    print("summary " + json.dumps(summary), flush=True)


async def pairs(port, clients, rate, seconds):
    state, block = "/lean/v0/states/finalized", "/lean/v0/blocks/finalized"
    deadline = time.monotonic() + seconds
    counts = {"pairs": 0, "mismatched": 0, "failed": 0}
    by_order = {o: [0, 0] for o in ("state_first", "block_first", "together")}
    lags = []

    async def one(i):
        order = ("state_first", "block_first", "together")[i % 3]
        source = address("127.0.1.1", i)
        while time.monotonic() < deadline:
            if order == "together":
                s, b = await asyncio.gather(get(port, state, source, rate), get(port, block, source, rate))
            elif order == "state_first":
                s = await get(port, state, source, rate)
                b = await get(port, block, source, rate)
            else:
                b = await get(port, block, source, rate)
                s = await get(port, state, source, rate)
            if s[0] != 200 or b[0] != 200:
                counts["failed"] += 1
                continue
            counts["pairs"] += 1
            by_order[order][0] += 1
            if s[1].get("x-leanpoint-slot") != b[1].get("x-leanpoint-slot"):
                counts["mismatched"] += 1
                by_order[order][1] += 1

    async def newcomers():
        # A client never seen before, every 2 s: how far behind the agreement is its anchor?
        n = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(2)
            source = address("127.0.9.1", n)
            n += 1
            st = await get(port, "/status", "127.0.0.1", 0, keep=True)
            r = await get(port, state, source, 0)
            if r[0] == 200 and st[0] == 200:
                agreed = json.loads(st[5])["finalized_slot"]
                lags.append(agreed - int(r[1].get("x-leanpoint-slot", "0")))
    await asyncio.gather(*[one(i) for i in range(clients)], newcomers())
    print("summary " + json.dumps({**counts, "by_order": by_order, "newcomer_lag_slots_max": max(lags) if lags else None, "newcomers": len(lags)}), flush=True)


def main():
    mode = sys.argv[1]
    if mode == "download":
        port, path, clients, rate = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
        first = sys.argv[7] if len(sys.argv) > 7 and sys.argv[6] == "--first-address" else "127.0.1.1"
        asyncio.run(download(port, path, clients, rate, first))
    elif mode == "pairs":
        asyncio.run(pairs(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
