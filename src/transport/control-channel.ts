/**
 * The control stream as a channel of frames (SPEC.md §2). Both ends use it: the edge over the
 * request it opened, the agent over the request it received. It owns nothing but the decoder;
 * the connection object owns the stream and closes it.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { encodeFrame, FrameDecoder, type DecodedFrame, type FrameInit } from '../protocol/codec.js'
import { BurrowError } from '../protocol/errors.js'

export interface ControlChannelEvents {
  frame: [DecodedFrame]
  /** A protocol violation (BURROW_ERR_PROTOCOL); the channel reads no further. */
  protocolError: [BurrowError]
  /** The peer ended or the stream closed; no more frames. */
  end: []
}

export class ControlChannel extends EventEmitter<ControlChannelEvents> {
  private readonly stream: Duplex
  private readonly decoder: FrameDecoder
  private ended = false
  /** The peer sent bytes that are not frames: read no further, but a ProtocolError can still be sent (§2.4). */
  private failed = false

  constructor (stream: Duplex, maxFrameBytes?: number) {
    super()
    this.stream = stream
    this.decoder = new FrameDecoder(maxFrameBytes)
    stream.on('data', (chunk: Buffer) => this.onData(chunk))
    stream.on('end', () => this.finish())
    stream.on('close', () => this.finish())
    // The owner of the stream logs and handles stream errors; without a listener they would throw.
    stream.on('error', () => this.finish())
  }

  send (frame: FrameInit): boolean {
    if (this.ended || this.stream.destroyed || this.stream.writableEnded) return false
    this.stream.write(encodeFrame(frame))
    return true
  }

  /** Ends our half of the control stream (the peer sees 'end'); frames can no longer be sent. */
  close (): void {
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end()
  }

  private onData (chunk: Buffer): void {
    if (this.ended || this.failed) return
    let frames: DecodedFrame[]
    try {
      frames = this.decoder.push(chunk)
    } catch (err) {
      this.failed = true
      this.stream.pause()
      this.emit('protocolError', err as BurrowError)
      return
    }
    for (const frame of frames) {
      if (this.ended || this.failed) return
      this.emit('frame', frame)
    }
  }

  private finish (): void {
    if (this.ended) return
    this.ended = true
    if (!this.failed) this.emit('end')
  }
}

/** Sends a ProtocolError frame (best effort) before the caller tears the connection down. */
export function sendProtocolError (channel: ControlChannel | undefined, err: BurrowError): void {
  channel?.send({ protocolError: { code: err.code, message: err.message } })
}

