/**
 * Control-stream framing (SPEC.md §2.3): a 4-byte big-endian length, then that many bytes of one
 * protobuf `burrow.v1.Frame`. Pure: no I/O, no timers.
 */
import { burrow } from './generated/tunnel.js'
import { BurrowError } from './errors.js'
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './constants.js'

export const Frame = burrow.v1.Frame
export type FrameInit = burrow.v1.Frame.$Properties
export type DecodedFrame = ReturnType<typeof Frame.decode>
/** The member names of the Frame oneof, e.g. 'register'. */
export type FrameKind = NonNullable<DecodedFrame['msg']>

/** Encodes one frame with its length prefix, in a single buffer (one write per frame). */
export function encodeFrame (frame: FrameInit): Buffer {
  const body = Frame.encode(frame).finish()
  if (body.length > MAX_FRAME_BYTES) {
    throw new BurrowError('BURROW_ERR_PROTOCOL', `frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`)
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length)
  out.writeUInt32BE(body.length, 0)
  out.set(body, FRAME_HEADER_BYTES)
  return out
}

/**
 * Incremental decoder. Feed it chunks as they arrive; it returns the complete frames in order.
 * The declared length is checked before any payload is buffered, so an oversized frame costs
 * nothing; a frame that arrives whole in one chunk is decoded from a subarray without copying.
 * After an error the decoder is poisoned: every later push throws the same error.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number
  /** Bytes received but not yet consumed (a partial header or a partial payload). */
  private pending: Buffer[] = []
  private pendingBytes = 0
  private failure: BurrowError | undefined

  constructor (maxFrameBytes = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes
  }

  push (chunk: Buffer): DecodedFrame[] {
    if (this.failure !== undefined) throw this.failure
    const frames: DecodedFrame[] = []
    let buf = chunk
    if (this.pendingBytes > 0) {
      this.pending.push(chunk)
      buf = Buffer.concat(this.pending, this.pendingBytes + chunk.length)
      this.pending = []
      this.pendingBytes = 0
    }
    let offset = 0
    while (buf.length - offset >= FRAME_HEADER_BYTES) {
      const length = buf.readUInt32BE(offset)
      if (length > this.maxFrameBytes) {
        this.failure = new BurrowError('BURROW_ERR_PROTOCOL', `frame length ${length} exceeds the maximum of ${this.maxFrameBytes} bytes`)
        throw this.failure
      }
      const end = offset + FRAME_HEADER_BYTES + length
      if (end > buf.length) break
      try {
        frames.push(Frame.decode(buf.subarray(offset + FRAME_HEADER_BYTES, end)))
      } catch (err) {
        this.failure = new BurrowError('BURROW_ERR_PROTOCOL', 'control frame is not a valid protobuf Frame', { cause: err })
        throw this.failure
      }
      offset = end
    }
    if (offset < buf.length) {
      // Keep the remainder; copy it so the caller's large chunk is not retained by a small tail.
      const rest = Buffer.from(buf.subarray(offset))
      this.pending.push(rest)
      this.pendingBytes = rest.length
    }
    return frames
  }

  /** True when a frame has started but not finished (a peer that ends here sent a truncated frame). */
  get midFrame (): boolean {
    return this.pendingBytes > 0
  }
}

/** The oneof member that is set, or undefined for a frame from a newer peer (SPEC.md §3.5). */
export function frameKind (frame: DecodedFrame): FrameKind | undefined {
  return frame.msg ?? undefined
}
