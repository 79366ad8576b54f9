/**
 * The page's live channel: Server-Sent Events from /ui/api/stream, read with fetch() streaming (not
 * EventSource) so the admin token can travel in a header. Reconnects with backoff; each (re)connect
 * starts from a fresh `book` snapshot, so a dropped connection never leaves a stale ladder.
 */
import { authHeaders, noteUnauthorized } from './api.ts';

export type LiveHandler = (event: string, data: any) => void;
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

export class LiveConnection {
  private abort: AbortController | undefined;
  private stopped = false;
  private retryMs = 250;
  status: LiveStatus = 'connecting';
  lastError = '';

  constructor(
    private readonly url: string,
    private readonly onEvent: LiveHandler,
    private readonly onStatus: (s: LiveStatus, detail: string) => void,
  ) {
    void this.run();
  }

  private setStatus(s: LiveStatus, detail = ''): void {
    this.status = s;
    this.lastError = detail;
    this.onStatus(s, detail);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        const res = await fetch(this.url, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal: this.abort.signal, cache: 'no-store', credentials: 'same-origin' });
        noteUnauthorized(res);
        if (!res.ok || res.body === null) {
          const text = await res.text().catch(() => '');
          let reason = `${res.status}`;
          try {
            reason = `${res.status}: ${JSON.parse(text).reason}`;
          } catch {
            /* not JSON */
          }
          throw new Error(reason);
        }
        this.setStatus('live');
        this.retryMs = 250;
        await this.read(res.body);
        if (!this.stopped) this.setStatus('reconnecting', 'the stream ended');
      } catch (e) {
        if (this.stopped) break;
        this.setStatus('reconnecting', (e as Error).message);
      }
      if (this.stopped) break;
      await new Promise((r) => setTimeout(r, this.retryMs));
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
    }
    this.setStatus('closed');
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data === '') continue; // a keep-alive comment
        try {
          this.onEvent(event, JSON.parse(data));
        } catch (e) {
          console.error('trading ui: bad live event', event, e);
        }
      }
    }
  }

  close(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}
