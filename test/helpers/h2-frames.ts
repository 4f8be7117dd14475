/**
 * A raw HTTP/2 client for hostile-peer tests (research/reliability.md §3.7): it writes frames Node's
 * own client refuses to send (RST floods, endless CONTINUATION, unacknowledged SETTINGS/PING
 * floods, streams beyond the advertised limit) and reads back what the server answered, frame by
 * frame. The way Node core's test-http2-* hostile tests do it, with no dependencies.
 *
 * Frames (RFC 9113 §4.1): a 9-byte header (24-bit length, type, flags, 31-bit stream id) and the
 * payload. Header blocks use HPACK "literal header field without indexing — new name" (RFC 7541
 * §6.2.2) with plain (non-Huffman) strings, so the encoder is a few lines and keeps no table state.
 * Responses are parsed as frames only; their header blocks are not decoded (the server's HPACK uses
 * Huffman and its dynamic table; tests that need a status use Node's http2 client instead).
 */
import net from 'node:net'

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
} as const

/** RFC 9113 §7 error codes the tests look for. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  CANCEL: 0x8,
  REFUSED_STREAM: 0x7,
  ENHANCE_YOUR_CALM: 0xb,
} as const

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const

export interface Frame {
  type: number
  flags: number
  streamId: number
  payload: Buffer
}

/** One frame: the 9-byte header followed by `payload`. */
export function frame (type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > 0xffffff) throw new RangeError('frame payload over 2^24-1 bytes')
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(streamId & 0x7fffffff, 5)
  return Buffer.concat([head, payload])
}

/** An HPACK integer with an `prefixBits`-bit prefix (RFC 7541 §5.1); `first` holds the pattern bits. */
function hpackInt (value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1
  if (value < max) return [first | value]
  const out = [first | max]
  let rest = value - max
  while (rest >= 128) {
    out.push((rest % 128) + 128)
    rest = Math.floor(rest / 128)
  }
  out.push(rest)
  return out
}

/** A plain (H bit clear) HPACK string literal (RFC 7541 §5.2). */
function hpackString (s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1')
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0x00)), bytes])
}

/**
 * A header block: every field as "literal without indexing, new name" (first byte 0x00), in order.
 * Names are sent as given: pass them lower-case, pseudo-headers first, as RFC 9113 §8.3 requires
 * (or not, to test a server's validation).
 */
export function encodeHeaders (fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = []
  for (const [name, value] of fields) parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value))
  return Buffer.concat(parts)
}

/** The pseudo-headers of a request, then `extra`. */
export function requestFields (method: string, path: string, authority: string, extra: ReadonlyArray<readonly [string, string]> = []): Array<readonly [string, string]> {
  return [[':method', method], [':scheme', 'http'], [':path', path], [':authority', authority], ...extra]
}

export function headersFrame (streamId: number, block: Buffer, options: { endStream?: boolean, endHeaders?: boolean } = {}): Buffer {
  const flags = (options.endStream === true ? Flag.END_STREAM : 0) | (options.endHeaders === false ? 0 : Flag.END_HEADERS)
  return frame(FrameType.HEADERS, flags, streamId, block)
}

export function continuationFrame (streamId: number, block: Buffer, endHeaders = false): Buffer {
  return frame(FrameType.CONTINUATION, endHeaders ? Flag.END_HEADERS : 0, streamId, block)
}

export function dataFrame (streamId: number, data: Buffer | string, endStream = false): Buffer {
  return frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, Buffer.from(data))
}

export function rstStreamFrame (streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4)
  p.writeUInt32BE(code)
  return frame(FrameType.RST_STREAM, 0, streamId, p)
}

export function settingsFrame (entries: ReadonlyArray<readonly [number, number]> = [], ack = false): Buffer {
  const p = Buffer.alloc(entries.length * 6)
  entries.forEach(([id, value], i) => {
    p.writeUInt16BE(id, i * 6)
    p.writeUInt32BE(value, i * 6 + 2)
  })
  return frame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, p)
}

export function pingFrame (data: Buffer = Buffer.alloc(8), ack = false): Buffer {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, data)
}

export function windowUpdateFrame (streamId: number, increment: number): Buffer {
  const p = Buffer.alloc(4)
  p.writeUInt32BE(increment & 0x7fffffff)
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, p)
}

/** Incremental frame parser: feed it bytes as they arrive, get whole frames back. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0)

  push (chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    const out: Frame[] = []
    while (this.buf.length >= 9) {
      const length = this.buf.readUIntBE(0, 3)
      if (this.buf.length < 9 + length) break
      out.push({
        type: this.buf[3]!,
        flags: this.buf[4]!,
        streamId: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: this.buf.subarray(9, 9 + length),
      })
      this.buf = this.buf.subarray(9 + length)
    }
    return out
  }
}

export interface Goaway { lastStreamId: number, errorCode: number, debug: string }

export function parseGoaway (f: Frame): Goaway {
  return {
    lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
    errorCode: f.payload.readUInt32BE(4),
    debug: f.payload.subarray(8).toString('latin1'),
  }
}

/** The error code of a RST_STREAM frame. */
export function rstCode (f: Frame): number {
  return f.payload.readUInt32BE(0)
}

/**
 * A raw h2c connection (prior knowledge): connects, sends the preface and an empty SETTINGS, and
 * records every frame the server sends, acknowledging the server's SETTINGS unless told not to.
 * `closed` resolves when the socket closes, whatever the cause.
 */
export class RawH2Connection {
  readonly socket: net.Socket
  readonly frames: Frame[] = []
  /** The first GOAWAY the server sent, if any. */
  goaway: Goaway | undefined
  /** Bytes the server sent (all frames, including ones not kept). */
  bytesIn = 0
  readonly closed: Promise<void>
  private readonly reader = new FrameReader()
  private readonly keepFrames: boolean

  private constructor (socket: net.Socket, options: { ackSettings: boolean, keepFrames: boolean }) {
    this.socket = socket
    this.keepFrames = options.keepFrames
    socket.on('error', () => {}) // a server that closes on us shows up as 'close'
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length
      for (const f of this.reader.push(chunk)) {
        if (f.type === FrameType.GOAWAY && this.goaway === undefined) this.goaway = parseGoaway(f)
        if (f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0 && options.ackSettings && socket.writable) {
          socket.write(settingsFrame([], true))
        }
        if (this.keepFrames) this.frames.push(f)
      }
    })
  }

  /**
   * Connects to host:port. With `ackSettings: false` the server's SETTINGS are never acknowledged;
   * with `keepFrames: false` only the GOAWAY is remembered (floods answered with many frames).
   */
  static async connect (port: number, host = '127.0.0.1', options: { ackSettings?: boolean, keepFrames?: boolean, settings?: ReadonlyArray<readonly [number, number]> } = {}): Promise<RawH2Connection> {
    const socket = net.connect(port, host)
    const conn = new RawH2Connection(socket, { ackSettings: options.ackSettings ?? true, keepFrames: options.keepFrames ?? true })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.setNoDelay(true)
    socket.write(Buffer.concat([PREFACE, settingsFrame(options.settings ?? [])]))
    return conn
  }

  /** Writes bytes; resolves when the kernel took them (or the socket is gone). */
  async write (bytes: Buffer): Promise<void> {
    if (!this.socket.writable) return
    await new Promise<void>((resolve) => this.socket.write(bytes, () => resolve()))
  }

  /** Frames received so far of `type`. */
  framesOf (type: number): Frame[] {
    return this.frames.filter((f) => f.type === type)
  }

  get isClosed (): boolean {
    return this.socket.destroyed
  }

  destroy (): void {
    this.socket.destroy()
  }
}

/**
 * The :status of a response header block when the server sent it as an indexed static-table entry
 * (RFC 7541 Appendix A, indices 8-14: 200 204 206 304 400 404 500), which nghttp2 always does for
 * those values as the first field. Undefined for any other status (e.g. 431, sent as a Huffman literal).
 */
export function staticStatus (block: Buffer): number | undefined {
  const first = block[0]
  if (first === undefined || first < 0x88 || first > 0x8e) return undefined
  return [200, 204, 206, 304, 400, 404, 500][first - 0x88]
}
