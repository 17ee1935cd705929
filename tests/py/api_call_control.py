#!/usr/bin/env python3
"""An independent gRPC client (grpcio): hold, resume and transfer calls.

Usage: api_call_control.py HOST:PORT TOKEN OP...
Each OP is `hold:CALL_ID`, `resume:CALL_ID` or `transfer:CALL_ID:TARGET`, run in order.
Generates Python stubs from the published proto/ (grpc_tools.protoc, into a temp dir) and
prints one JSON line per OP: {"op": ..., "code": "OK" | the status name, ...} with `held`
(the side's enum name) for a successful hold and `destination` for a transfer. Exits 0.
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
    addr, token, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as out:
        stubs(out)
        from switchboard.v1 import control_pb2, control_pb2_grpc, events_pb2

        meta = [("authorization", f"Bearer {token}")]
        with grpc.insecure_channel(addr) as ch:
            client = control_pb2_grpc.ControlStub(ch)
            for op in ops:
                name, call_id, *rest = op.split(":", 2)
                line = {"op": name, "call_id": call_id}
                try:
                    if name == "hold":
                        r = client.Hold(control_pb2.HoldRequest(call_id=call_id),
                                        metadata=meta, timeout=10)
                        line["held"] = events_pb2.Side.Name(r.held)
                    elif name == "resume":
                        client.Resume(control_pb2.ResumeRequest(call_id=call_id),
                                      metadata=meta, timeout=10)
                    elif name == "transfer":
                        r = client.Transfer(control_pb2.TransferRequest(
                            call_id=call_id, target=rest[0]), metadata=meta, timeout=10)
                        line["destination"] = r.destination
                    else:
                        sys.exit(f"unknown op {name}")
                    line["code"] = "OK"
                except grpc.RpcError as e:
                    line["code"] = e.code().name
                    line["details"] = e.details()
                print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
