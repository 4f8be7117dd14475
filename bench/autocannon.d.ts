// Minimal type declarations for the parts of autocannon@9 used by bench/run.ts (autocannon ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }

    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      /** seconds */
      duration?: number;
      /** seconds before a request counts as a timeout (default 10) */
      timeout?: number;
      method?: string;
      headers?: Record<string, string>;
      requests?: Request[];
      /** a response whose body makes this return false counts as a mismatch */
      verifyBody?: (body: string) => boolean;
      expectBody?: string;
      bailout?: number;
      title?: string;
      /** sample interval in ms */
      sampleInt?: number;
    }

    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      sent?: number;
      p50: number;
      p90: number;
      p99: number;
      [key: string]: number | undefined;
    }

    interface Result {
      title?: string;
      url: string;
      connections: number;
      pipelining: number;
      /** seconds */
      duration: number;
      samples: number;
      start: Date;
      finish: Date;
      /** connection errors + timeouts */
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
      resets: number;
      '1xx': number;
      '2xx': number;
      '3xx': number;
      '4xx': number;
      '5xx': number;
      statusCodeStats: Record<string, { count: number }>;
      /** ms */
      latency: Histogram;
      /** per-sample request counts; total = completed requests */
      requests: Histogram;
      /** bytes per sample */
      throughput: Histogram;
    }

    interface Instance extends EventEmitter, PromiseLike<Result> {
      catch(onrejected: (reason: unknown) => void): Promise<Result | void>;
      /** ends the run early; the promise still resolves with the partial result */
      stop(): void;
      on(
        event: 'response',
        listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void,
      ): this;
      on(event: 'reqError', listener: (err: Error) => void): this;
      on(event: 'reqMismatch', listener: (body: string) => void): this;
      on(event: string | symbol, listener: (...args: any[]) => void): this;
    }
  }

  function autocannon(opts: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
