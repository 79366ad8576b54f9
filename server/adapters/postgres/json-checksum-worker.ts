/**
 * Worker-thread entry of json-checksum.ts: parses one JSON text, and answers the sha256 of its
 * canonical JSON (canonical-json.ts) and the thread that computed it. Holds no state between requests.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { canonicalJson, sha256Hex } from './canonical-json.ts';

export interface JsonChecksumRequest {
  text: string;
}

export type JsonChecksumReply = { checksum: string; threadId: number } | { error: string };

parentPort!.on('message', (request: JsonChecksumRequest) => {
  let reply: JsonChecksumReply;
  try {
    reply = { checksum: sha256Hex(canonicalJson(JSON.parse(request.text))), threadId };
  } catch (err) {
    reply = { error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
