// A webhook receiver on 127.0.0.1 for tests: records every POST (headers, body, when) and answers each as
// the test's script says: a status, a hang (never answers), or a dropped connection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Answer = number | 'hang' | 'drop';

export interface ReceivedPost {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedPost[];
  /** Requests that were received and not answered yet (hangs included). */
  open(): number;
  /** Answers for the coming requests, in order; past the end, `fallback`. */
  script(answers: Answer[], fallback?: Answer): void;
  close(): Promise<void>;
}

/** `clock` stamps each POST (default the wall clock; a time-skipping test passes the test server's). */
export async function startWebhookReceiver(
  fallback: Answer = 200,
  clock: () => Promise<number> | number = Date.now,
): Promise<WebhookReceiver> {
  const received: ReceivedPost[] = [];
  let answers: Answer[] = [];
  let otherwise = fallback;
  let open = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    open++;
    res.on('close', () => open--);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const answer = answers.shift() ?? otherwise;
      received.push({ at: await clock(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (answer === 'hang') return;
      if (answer === 'drop') return req.socket.destroy();
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer >= 400 ? `receiver says ${answer}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    open: () => open,
    script(next, fb) {
      answers = [...next];
      if (fb !== undefined) otherwise = fb;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
