#!/usr/bin/python3
"""An independent reflection client (Debian python3-grpcio + python3-protobuf): asks a server for the
files defining each given symbol over grpc.reflection.v1alpha (and their dependencies), adds them to a
fresh protobuf DescriptorPool, which validates them as protoc would (e.g. map entries must be named
<Field>Entry), and prints one JSON line: {"ok": true, "files": [...], "messages": {...}} or
{"ok": false, "error": "..."}. Exit 0 only when every symbol's file is accepted.

usage: reflection_check.py HOST:PORT SYMBOL [SYMBOL...]
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# The part of reflection.proto this client needs, built at run time (no generated code, no protoc).
_REFLECTION = descriptor_pb2.FileDescriptorProto(
    name="reflection_subset.proto",
    package="grpc.reflection.v1alpha",
    syntax="proto3",
)
_req = _REFLECTION.message_type.add(name="ServerReflectionRequest")
_req.field.add(name="host", number=1, type=9, label=1)
_req.field.add(name="file_by_filename", number=3, type=9, label=1)
_req.field.add(name="file_containing_symbol", number=4, type=9, label=1)
_fdr = _REFLECTION.message_type.add(name="FileDescriptorResponse")
_fdr.field.add(name="file_descriptor_proto", number=1, type=12, label=3)
_err = _REFLECTION.message_type.add(name="ErrorResponse")
_err.field.add(name="error_code", number=1, type=5, label=1)
_err.field.add(name="error_message", number=2, type=9, label=1)
_res = _REFLECTION.message_type.add(name="ServerReflectionResponse")
_res.field.add(name="file_descriptor_response", number=4, type=11, label=1, type_name=".grpc.reflection.v1alpha.FileDescriptorResponse")
_res.field.add(name="error_response", number=7, type=11, label=1, type_name=".grpc.reflection.v1alpha.ErrorResponse")

_own = descriptor_pool.DescriptorPool()
_own.Add(_REFLECTION)


def _cls(name):
    d = _own.FindMessageTypeByName(name)
    get = getattr(message_factory, "GetMessageClass", None)
    return get(d) if get is not None else message_factory.MessageFactory(_own).GetPrototype(d)


Request = _cls("grpc.reflection.v1alpha.ServerReflectionRequest")
Response = _cls("grpc.reflection.v1alpha.ServerReflectionResponse")


def main():
    address, symbols = sys.argv[1], sys.argv[2:]
    channel = grpc.insecure_channel(address)
    call = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=Response.FromString,
    )

    def ask(**kw):
        (resp,) = list(call(iter([Request(**kw)]), timeout=10))
        if resp.HasField("error_response"):
            raise RuntimeError(f"reflection error {resp.error_response.error_code}: {resp.error_response.error_message} for {kw}")
        return [descriptor_pb2.FileDescriptorProto.FromString(b) for b in resp.file_descriptor_response.file_descriptor_proto]

    files = {}

    def collect(protos):
        for fdp in protos:
            if fdp.name in files:
                continue
            files[fdp.name] = fdp
            for dep in fdp.dependency:
                if dep not in files:
                    collect(ask(file_by_filename=dep))

    for s in symbols:
        collect(ask(file_containing_symbol=s))

    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name):
        if name in added:
            return
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])  # validates, as protoc's DescriptorPool does
        added.add(name)

    messages = {}
    for name in sorted(files):
        add(name)
    for name, fdp in files.items():
        fd = pool.FindFileByName(name)
        for m in fd.message_types_by_name.values():
            messages[m.full_name] = sorted(n.name for n in m.nested_types)
    for s in symbols:
        pool.FindServiceByName(s) if "Service" in s or s.endswith("Health") else pool.FindMessageTypeByName(s)
    print(json.dumps({"ok": True, "files": sorted(files), "messages": messages}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the test to show
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
