/**
 * Worker-thread entry of json-checksum.ts: parses one JSON text (or its UTF-8 bytes), and answers the sha256 of its
 * canonical JSON (canonical-json.ts) and the thread that computed it, one request at a time, each
 * answered under its id. Holds no state between requests.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { canonicalJson, sha256Hex } from './canonical-json.ts';

export interface JsonChecksumRequest {
  id: number;
  /** The JSON text, or its UTF-8 bytes (a SharedArrayBuffer's are read where they are, not copied). */
  text: string | Uint8Array;
}

export type JsonChecksumReply = { id: number; checksum: string; threadId: number } | { id: number; error: string };

parentPort!.on('message', (request: JsonChecksumRequest) => {
  let reply: JsonChecksumReply;
  try {
    const t = request.text;
    const text = typeof t === 'string' ? t : Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('utf8');
    reply = { id: request.id, checksum: sha256Hex(canonicalJson(JSON.parse(text))), threadId };
  } catch (err) {
    reply = { id: request.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
