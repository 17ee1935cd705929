#!/usr/bin/env python3
"""An independent gRPC client (grpcio): follows switchboard's event stream.

Usage: api_subscribe.py HOST:PORT TOKEN TIMEOUT_SECS
Generates Python stubs from the published proto/ (grpc_tools.protoc, into a temp dir), then
subscribes with the bearer token and prints one JSON line per event:
{"kind": ..., "seq": ..., "call_id": ..., "cause": ...}. Exits 0 once a CallEnded arrived,
1 at the deadline or on an RPC error.
"""
import json
import os
import sys
import tempfile
import time

from grpc_tools import protoc
import grpc

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")


def stubs(out):
    files = ["switchboard/v1/types.proto", "switchboard/v1/events.proto",
             "switchboard/v1/control.proto"]
    proto_include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    rc = protoc.main(["grpc_tools.protoc", f"-I{ROOT}", f"-I{proto_include}",
                      f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if rc != 0:
        sys.exit(f"protoc failed: {rc}")
    sys.path.insert(0, out)


def main():
    addr, token, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with tempfile.TemporaryDirectory() as out:
        stubs(out)
        from switchboard.v1 import events_pb2, events_pb2_grpc

        deadline = time.time() + timeout
        with grpc.insecure_channel(addr) as ch:
            client = events_pb2_grpc.EventsStub(ch)
            stream = client.Subscribe(events_pb2.SubscribeRequest(),
                                      metadata=[("authorization", f"Bearer {token}")],
                                      timeout=timeout)
            try:
                for ev in stream:
                    kind = ev.WhichOneof("payload")
                    line = {"kind": kind, "seq": ev.seq, "call_id": ev.call_id}
                    if kind == "call_ended":
                        line["cause"] = ev.call_ended.cause
                    if kind == "snapshot":
                        line["calls"] = [c.call_id for c in ev.snapshot.calls]
                    print(json.dumps(line), flush=True)
                    if kind == "call_ended":
                        return 0
                    if time.time() > deadline:
                        return 1
            except grpc.RpcError as e:
                print(json.dumps({"error": str(e.code()), "details": e.details()}), flush=True)
                return 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
