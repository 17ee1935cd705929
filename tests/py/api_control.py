#!/usr/bin/env python3
"""An independent gRPC client (grpcio) for switchboard's Control service: reads the block list.

Usage: api_control.py HOST:PORT READ_TOKEN
Generates Python stubs from the published proto/ (grpc_tools.protoc, into a temp dir), then
prints JSON lines: {"blocked": [numbers...]} from ListBlocked, and
{"block_with_read_token": STATUS} from a BlockNumber a read-only token may not make.
Exits 1 on an unexpected RPC error.
"""
import json
import os
import sys
import tempfile

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
    addr, token = sys.argv[1], sys.argv[2]
    auth = [("authorization", f"Bearer {token}")]
    with tempfile.TemporaryDirectory() as out:
        stubs(out)
        from switchboard.v1 import control_pb2, control_pb2_grpc

        with grpc.insecure_channel(addr) as ch:
            client = control_pb2_grpc.ControlStub(ch)
            try:
                listed = client.ListBlocked(control_pb2.ListBlockedRequest(), metadata=auth,
                                            timeout=10)
            except grpc.RpcError as e:
                print(json.dumps({"error": str(e.code()), "details": e.details()}), flush=True)
                return 1
            print(json.dumps({"blocked": [b.number for b in listed.blocked]}), flush=True)
            try:
                client.BlockNumber(control_pb2.BlockNumberRequest(number="+15550000", reason="x"),
                                   metadata=auth, timeout=10)
                status = "OK"
            except grpc.RpcError as e:
                status = e.code().name
            print(json.dumps({"block_with_read_token": status}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
