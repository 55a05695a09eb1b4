#!/usr/bin/env python3
"""Streams completions from `quill serve` with N concurrent clients and reports time to the first character.

Each client loops: POST /v1/completions with "stream": true and max_tokens 200, timing the first
text chunk and the [DONE] line. Standard library only.
"""
import argparse, http.client, json, threading, time

def client(port, deadline, first, total, errors, seed):
    while time.time() < deadline:
        seed += 1000
        start = time.time()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            body = json.dumps({"max_tokens": 200, "temperature": 0.8, "seed": seed, "stream": True})
            conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            if response.status != 200:
                errors.append(response.status); response.read(); continue
            got_first = False
            for line in response:
                if line.startswith(b"data: [DONE]"):
                    break
                if not got_first and b'"text":"' in line and b'"text":""' not in line:
                    first.append(time.time() - start); got_first = True
            total.append(time.time() - start)
            conn.close()
        except Exception as error:  # noqa: BLE001 - counted and reported
            errors.append(str(error))

def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000 if values else float("nan")

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    first, total, errors = [], [], []
    deadline = time.time() + args.seconds
    threads = [threading.Thread(target=client, args=(args.port, deadline, first, total, errors, i)) for i in range(args.clients)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(f"streams {len(total)}: first character p50 {percentile(first, 50):.1f} ms p99 {percentile(first, 99):.1f} ms; "
          f"total p50 {percentile(total, 50):.1f} ms p99 {percentile(total, 99):.1f} ms; errors {len(errors)}")

if __name__ == "__main__":
    main()
