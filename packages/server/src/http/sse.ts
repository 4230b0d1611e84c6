// Server-sent events as OpenAI streams them: `data: {json}` blocks, then `data: [DONE]`. Headers are
// sent with the first event, so a request that fails before its first token still gets a real status.
import type { ServerResponse } from "node:http";

export class EventStream {
  private opened = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly headers: Record<string, string>,
  ) {}

  get started(): boolean {
    return this.opened;
  }

  send(data: unknown): void {
    this.open();
    this.response.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream with OpenAI's terminator. */
  done(): void {
    this.open();
    this.response.end("data: [DONE]\n\n");
  }

  private open(): void {
    if (this.opened) return;
    this.opened = true;
    this.response.writeHead(200, { ...this.headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
  }
}
