/**
 * The gRPC length-prefixed message frame (gRPC over HTTP/2: one byte "compressed" = 0, four bytes
 * big-endian length, then the message). A paced stream (stream-limits.ts) writes frames straight to its
 * HTTP/2 stream, several in one write; a frame made once is shared by every subscriber of a delta.
 */

/** Bytes before the message in a frame. */
export const FRAME_HEADER_BYTES = 5;

/** `message` as one uncompressed gRPC frame (a new Buffer; the message is copied once). */
export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(message.length + FRAME_HEADER_BYTES);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, FRAME_HEADER_BYTES);
  return frame;
}

/** The message inside `frame` (a view, no copy). */
export function frameBody(frame: Buffer): Buffer {
  return frame.subarray(FRAME_HEADER_BYTES);
}
