// tsc does not copy the protobufjs-generated JavaScript into dist/; this does.
import { cpSync, mkdirSync } from 'node:fs'
mkdirSync('dist/protocol/generated', { recursive: true })
cpSync('src/protocol/generated/tunnel.js', 'dist/protocol/generated/tunnel.js')
